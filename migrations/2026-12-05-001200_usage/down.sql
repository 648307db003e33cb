ALTER TABLE tenants DROP COLUMN monthly_query_quota;
DROP TABLE usage_monthly;
DROP TABLE usage_daily;
DROP TABLE usage_batches;
DROP TABLE ingestion_keys;
