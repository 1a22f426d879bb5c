-- People get a version like cases, charges, events and deadlines:
-- PATCH /v1/people/:id takes If-Match and of two concurrent edits one wins
-- (the other answers 412). Existing rows start at version 1.
ALTER TABLE "people" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1;
