-- Issue 16: public intake of first reports, cross-script duplicate detection,
-- relations between people and links between cases.

-- Intake submissions are quarantined: nothing personal in clear (content_enc
-- is FieldCrypto ciphertext with intake_submissions.content_enc.<id> as
-- associated data); only the reported country (who covers it) and the status
-- are readable. Rejection, and expiry unvetted after the retention period,
-- erase the content (crypto-shredded: the only ciphertext is deleted).
CREATE TABLE intake_submissions (
  id            uuid PRIMARY KEY,
  receipt       text NOT NULL UNIQUE,
  status        text NOT NULL DEFAULT 'NEW' CHECK (status IN ('NEW', 'ACCEPTED', 'REJECTED', 'EXPIRED')),
  country       char(2) NOT NULL,
  language      text NOT NULL,
  content_enc   text,
  reason_enc    text,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  vetted_at     timestamptz(3),
  vetted_by_id  uuid REFERENCES users(id),
  person_id     uuid REFERENCES people(id),
  case_id       uuid REFERENCES cases(id),
  event_id      uuid REFERENCES events(id)
);
CREATE INDEX intake_submissions_queue_idx ON intake_submissions (status, country, created_at DESC, id DESC);

-- Solved proof-of-work challenges, kept until they expire: a solution is accepted once.
CREATE TABLE intake_used_challenges (
  challenge  text PRIMARY KEY,
  expires_at timestamptz(3) NOT NULL
);
CREATE INDEX intake_used_challenges_expires_idx ON intake_used_challenges (expires_at);

-- Per-address submission counters; the key is an HMAC of the address, never the address.
CREATE TABLE intake_throttle (
  key          text PRIMARY KEY,
  window_start timestamptz(3) NOT NULL,
  count        integer NOT NULL,
  expires_at   timestamptz(3) NOT NULL
);

-- Cross-script duplicate detection: keyed blind indexes of each token of the
-- transliterated skeleton of the legal name (never the name). Filled by the
-- application (at write, and for older rows at start).
ALTER TABLE people ADD COLUMN legal_name_tokens text[];
CREATE INDEX people_legal_name_tokens_idx ON people USING gin (legal_name_tokens);

-- Person relations: stored once, read from both sides.
CREATE TABLE person_relations (
  id              uuid PRIMARY KEY,
  person_id       uuid NOT NULL REFERENCES people(id),
  other_person_id uuid NOT NULL REFERENCES people(id),
  kind            text NOT NULL CHECK (kind IN ('SPOUSE', 'PARENT', 'CHILD', 'SIBLING', 'RELATIVE', 'CO_DEFENDANT', 'SAME_ORGANISATION', 'OTHER')),
  since           date,
  until           date,
  note_enc        text,
  created_by_id   uuid NOT NULL REFERENCES users(id),
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (person_id <> other_person_id)
);
CREATE INDEX person_relations_person_idx ON person_relations (person_id);
CREATE INDEX person_relations_other_idx ON person_relations (other_person_id);

-- Case links: two-way, one row per unordered pair and kind.
CREATE TABLE case_links (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases(id),
  other_case_id uuid NOT NULL REFERENCES cases(id),
  kind          text NOT NULL CHECK (kind IN ('SAME_PROCEEDINGS', 'SAME_REQUEST', 'RELATED')),
  created_by_id uuid NOT NULL REFERENCES users(id),
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (case_id <> other_case_id)
);
CREATE UNIQUE INDEX case_links_pair_idx ON case_links (LEAST(case_id, other_case_id), GREATEST(case_id, other_case_id), kind);
CREATE INDEX case_links_other_idx ON case_links (other_case_id);
