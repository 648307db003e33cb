#!/usr/bin/env bash
# Integrity of the set-based checks (setwise-fk.sql) in a scratch copy: missing and
# other tenants' parents refused (also one bad row among 1,000, and by UPDATE), the
# deletes doing what ON DELETE did, and insert vs parent delete in both orders under
# READ COMMITTED. Usage: integrity.sh <database with setwise-fk.sql applied>
set -u
P="psql -X -h 127.0.0.1 -U postgres $1 -v ON_ERROR_STOP=1 -qtA"
SRC=$($P -c "select id from tenants where subdomain='src'"); DST=$($P -c "select id from tenants where subdomain='dst'")
A1=$($P -c "select min(id) from applications where tenant_id=$SRC"); DA=$($P -c "select min(id) from applications where tenant_id=$DST")
echo "--- 1 missing tenant: refused"; $P -c "insert into rules (tenant_id, kind, value, action, enabled, valid_from) values (999999,'block_ip','1.1.1.1','block',true,1)" 2>&1 | grep -o 'violates.*'
echo "--- 2 another tenant's application: refused"; $P -c "insert into rules (tenant_id, kind, application_id, value, action, enabled, valid_from) values ($SRC,'block_ip',$DA,'1.1.1.1','block',true,1)" 2>&1 | grep -o 'violates.*'
echo "--- 2b one bad row among 1,000: refused"; $P -c "insert into rules (tenant_id, kind, application_id, value, action, enabled, valid_from) select $SRC,'block_ip',case when i=500 then $DA else $A1 end,'1.1.1.1','block',true,1 from generate_series(1,1000) i" 2>&1 | grep -o 'violates.*'
echo "--- 2c re-pointed by UPDATE: refused"; $P -c "update rules set domain_id = 424242 where row_id = (select min(row_id) from rules where tenant_id=$SRC)" 2>&1 | grep -o 'domain.*exist'
echo "--- 3 application deleted: its rules unbound (0 left bound); tenant deleted: its rules gone (0)"
$P -c "begin; delete from applications where id=$DA; select count(*) from rules where application_id=$DA; delete from rule_sets where tenant_id=$DST; delete from tenants where id=$DST; select count(*) from rules where tenant_id=$DST; rollback;" 2>&1
echo "--- 4 insert first, delete waits for it, then unbinds the new rule too (application_id empty)"
( $P -c "begin; insert into rules (tenant_id, kind, application_id, value, action, enabled, valid_from) values ($DST,'block_ip',$DA,'7.7.7.7','block',true,1); select pg_sleep(2); commit;" >/dev/null ) &
sleep 0.7; $P -c "delete from applications where id=$DA"; wait
$P -c "select value, application_id from rules where value='7.7.7.7'"
echo "--- 5 delete first (uncommitted), insert waits, then is refused"
DA2=$($P -c "select min(id) from applications where tenant_id=$DST")
( $P -c "begin; delete from applications where id=$DA2; select pg_sleep(2); commit;" >/dev/null ) &
sleep 0.7; $P -c "insert into rules (tenant_id, kind, application_id, value, action, enabled, valid_from) values ($DST,'block_ip',$DA2,'6.6.6.6','block',true,1)" 2>&1 | grep -o 'violates.*'; wait
echo "--- 5b delete first, rolled back: the waiting insert succeeds"
DA3=$($P -c "select min(id) from applications where tenant_id=$DST")
( $P -c "begin; delete from applications where id=$DA3; select pg_sleep(2); rollback;" >/dev/null ) &
sleep 0.7; $P -c "insert into rules (tenant_id, kind, application_id, value, action, enabled, valid_from) values ($DST,'block_ip',$DA3,'5.5.5.5','block',true,1) returning application_id"; wait
echo "--- 6 insert first, tenant delete waits, then deletes the new rule too (0 left)"
( $P -c "begin; insert into rules (tenant_id, kind, value, action, enabled, valid_from) values ($DST,'block_ip','4.4.4.4','block',true,1); select pg_sleep(2); commit;" >/dev/null ) &
sleep 0.7; $P -c "begin; delete from rule_sets where tenant_id=$DST; delete from tenants where id=$DST; select count(*) from rules where tenant_id=$DST; rollback"; wait
