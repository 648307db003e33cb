-- Without a mail server, mail is written to files ('file'), no longer to the log:
-- invitation links are credentials. 'log' stays for mail sent that way before.
ALTER TABLE outbox DROP CONSTRAINT outbox_sent_via_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_sent_via_check CHECK (sent_via IN ('smtp', 'file', 'log'));
