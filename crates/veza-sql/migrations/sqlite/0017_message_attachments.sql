-- Files attached to messages. The bytes live in the object store under storage_key; a row goes
-- when its message is deleted (tombstoned) or removed, and the use case then removes the bytes.
CREATE TABLE message_attachments (
    id           INTEGER  PRIMARY KEY,
    message_id   INTEGER  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position     INTEGER  NOT NULL,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER  NOT NULL,
    storage_key  TEXT    NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments (message_id, position);
