-- Limits past what INTEGER holds become the largest it does.
ALTER TABLE users
    ALTER COLUMN storage_limit_gb TYPE INTEGER USING LEAST(storage_limit_gb, 2147483647)::integer,
    ALTER COLUMN memory_limit_gb TYPE INTEGER USING LEAST(memory_limit_gb, 2147483647)::integer;
