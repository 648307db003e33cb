DROP INDEX ingestion_keys_name;
