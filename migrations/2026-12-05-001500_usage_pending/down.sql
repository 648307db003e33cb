DROP TABLE usage_pending;
