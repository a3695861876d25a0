-- CreateEnum
CREATE TYPE "flag_rule" AS ENUM ('contact_info', 'moderation', 'spam');

-- CreateEnum
CREATE TYPE "flag_action" AS ENUM ('masked', 'flagged', 'blocked', 'recorded', 'rate_limited');

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "flags" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "masked_content" TEXT;

-- CreateTable
CREATE TABLE "moderation_flags" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "rule" "flag_rule" NOT NULL,
    "action" "flag_action" NOT NULL,
    "conversation_id" UUID NOT NULL,
    "sender_id" TEXT NOT NULL,
    "message_id" UUID,
    "kinds" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "spans" JSONB NOT NULL DEFAULT '[]',
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "moderation_flags_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "moderation_flags_created_at_id_idx" ON "moderation_flags"("created_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "moderation_flags" ADD CONSTRAINT "moderation_flags_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "moderation_flags" ADD CONSTRAINT "moderation_flags_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;
