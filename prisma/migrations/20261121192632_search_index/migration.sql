-- Full-text search over message content (GET /api/search). Written by hand: Prisma's schema
-- language cannot express an expression index, and its diff ignores expression and partial
-- indexes, so `npm run db:diff` stays clean.
--
-- The 'simple' configuration lowercases and splits words but neither stems nor drops stop words:
-- marketplace chats mix languages from one message to the next, and one language's stemmer and
-- stop-word list would mangle every other language. Queries must use this very expression
-- (to_tsvector('simple'::regconfig, content)) for the planner to use the index. Unsent messages
-- have no content and never match, so the index leaves them out.
CREATE INDEX "messages_content_search_idx" ON "messages"
  USING GIN (to_tsvector('simple'::regconfig, "content"))
  WHERE "deleted_at" IS NULL;
