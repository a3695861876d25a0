-- Offers, listing changes written into conversations as system messages, seller response time.

-- CreateEnum
CREATE TYPE "offer_status" AS ENUM ('pending', 'accepted', 'declined', 'withdrawn', 'countered', 'expired');

-- AlterEnum
ALTER TYPE "message_type" ADD VALUE 'offer';

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "buyer_waiting_since" TIMESTAMPTZ(3),
ADD COLUMN     "offer_accepted_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "system" JSONB,
ALTER COLUMN "sender_id" DROP NOT NULL;

-- AlterTable
ALTER TABLE "participants" ADD COLUMN     "system_skipped" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "response_time_seconds" INTEGER;

-- CreateTable
CREATE TABLE "offers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "conversation_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "by_user_id" TEXT NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "status" "offer_status" NOT NULL DEFAULT 'pending',
    "responds_to_offer_id" UUID,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decided_at" TIMESTAMPTZ(3),

    CONSTRAINT "offers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "listing_changes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "position" BIGSERIAL NOT NULL,
    "listing_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "content" TEXT NOT NULL,
    "cursor" UUID,
    "lease_until" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "listing_changes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "response_samples" (
    "id" BIGSERIAL NOT NULL,
    "seller_id" TEXT NOT NULL,
    "seconds" INTEGER NOT NULL,
    "responded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "response_samples_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "offers_message_id_key" ON "offers"("message_id");

-- CreateIndex
CREATE INDEX "offers_conversation_id_idx" ON "offers"("conversation_id");

-- CreateIndex
CREATE INDEX "listing_changes_listing_id_position_idx" ON "listing_changes"("listing_id", "position");

-- CreateIndex
CREATE INDEX "response_samples_seller_id_responded_at_idx" ON "response_samples"("seller_id", "responded_at" DESC);

-- CreateIndex
CREATE INDEX "response_samples_responded_at_idx" ON "response_samples"("responded_at");

-- CreateIndex
CREATE INDEX "conversations_listing_id_id_idx" ON "conversations"("listing_id", "id");

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_by_user_id_fkey" FOREIGN KEY ("by_user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_responds_to_offer_id_fkey" FOREIGN KEY ("responds_to_offer_id") REFERENCES "offers"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "listing_changes" ADD CONSTRAINT "listing_changes_listing_id_fkey" FOREIGN KEY ("listing_id") REFERENCES "listings"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "response_samples" ADD CONSTRAINT "response_samples_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Written by hand (Prisma's schema language cannot express partial indexes, and its diff ignores them).

-- One pending offer per conversation, enforced by the database whatever the races between nodes.
CREATE UNIQUE INDEX "offers_one_pending_per_conversation" ON "offers" ("conversation_id") WHERE "status" = 'pending';

-- The expiry worker's queue: pending offers by expiry time.
CREATE INDEX "offers_pending_expiry_idx" ON "offers" ("expires_at") WHERE "status" = 'pending';

-- A system message's client_id is the id of the listing change it announces: one per
-- conversation and change, however often a batch is retried.
CREATE UNIQUE INDEX "messages_system_client_id_key" ON "messages" ("conversation_id", "client_id") WHERE "sender_id" IS NULL;
