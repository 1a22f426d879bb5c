-- Legal rules v2, CCF revision: the event that records the discovery of a new
-- fact, from which a request to revise a CCF decision runs (CCF Statute
-- art. 42(2), six months). The rule itself is shipped data (default rules).
ALTER TYPE "EventType" ADD VALUE IF NOT EXISTS 'NEW_FACT_DISCOVERED';
