DROP INDEX usage_monthly_month;
DROP INDEX usage_monthly_subtree_queries;
DROP INDEX usage_monthly_queries;
