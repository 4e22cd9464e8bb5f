-- Files attached to messages. The bytes live in the object store under storage_key; a row goes
-- when its message is deleted (tombstoned) or removed, and the use case then removes the bytes.
CREATE TABLE message_attachments (
    id           BIGINT  PRIMARY KEY,
    message_id   BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position     BIGINT  NOT NULL,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    storage_key  TEXT    NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments (message_id, position);
