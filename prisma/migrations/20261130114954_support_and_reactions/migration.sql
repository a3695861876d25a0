-- CreateEnum
CREATE TYPE "conversation_kind" AS ENUM ('listing', 'support');

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "kind" "conversation_kind" NOT NULL DEFAULT 'listing',
ALTER COLUMN "listing_id" DROP NOT NULL;

-- CreateTable
CREATE TABLE "message_reactions" (
    "message_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "emoji" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_reactions_pkey" PRIMARY KEY ("message_id","emoji","user_id")
);

-- AddForeignKey
ALTER TABLE "message_reactions" ADD CONSTRAINT "message_reactions_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_reactions" ADD CONSTRAINT "message_reactions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Written by hand (Prisma's schema language cannot express a partial index, and its diff ignores
-- them, so `npm run db:diff` stays clean): one support conversation per user. (A CHECK that only
-- listing conversations have a listing would be welcome, but the wasm schema engine behind
-- `npm run db:diff` crashes on CHECK constraints.)
CREATE UNIQUE INDEX "conversations_support_buyer_key" ON "conversations" ("buyer_id") WHERE "kind" = 'support';
