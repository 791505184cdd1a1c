-- Indexes FerretDB v1 can use, for the local MongoDB stand-in (FerretDB on PostgreSQL).
--
-- FerretDB v1 pushes an equality filter down to PostgreSQL as `_jsonb -> 'field' @> '"value"'`
-- but turns each MongoDB index into a btree on `(_jsonb -> 'field')`, and a btree cannot serve
-- `@>`: every find, `_id` lookups included, scans the whole table. For each such btree this
-- adds a GIN index (jsonb_path_ops) on its first field, which `@>` can use: at every start for
-- the indexes that exist, and from then on by an event trigger as FerretDB creates them.
-- Sorts are still done by FerretDB in memory (it pushes down no sort but $natural), so a page
-- costs what the matching documents cost, not what the collection holds.

CREATE OR REPLACE FUNCTION mayachat_mirror_index(btree oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  owner regclass;
  first_key text;
BEGIN
  SELECT i.indrelid::regclass, pg_get_indexdef(i.indexrelid, 1, false)
    INTO owner, first_key
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
   WHERE i.indexrelid = btree AND am.amname = 'btree';
  IF first_key IS NULL OR first_key NOT LIKE '%(_jsonb -> %' THEN
    RETURN;  -- not FerretDB's (or already a GIN)
  END IF;
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((%s) jsonb_path_ops)',
    'mayachat_eq_' || left(md5(owner::text || first_key), 16), owner, first_key
  );
END $$;

CREATE OR REPLACE FUNCTION mayachat_mirror_new_indexes() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN
    SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX'
  LOOP
    PERFORM mayachat_mirror_index(created.objid);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS mayachat_mirror_indexes;
CREATE EVENT TRIGGER mayachat_mirror_indexes ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION mayachat_mirror_new_indexes();

SELECT count(*) AS mirrored FROM (
  SELECT mayachat_mirror_index(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
   WHERE am.amname = 'btree' AND pg_get_indexdef(i.indexrelid, 1, false) LIKE '%(_jsonb -> %'
) AS done;
