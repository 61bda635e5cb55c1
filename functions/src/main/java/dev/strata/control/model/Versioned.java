package dev.strata.control.model;

/**
 * An item of the metadata store with its optimistic version: 0 for a record not stored yet, then
 * 1 on creation and +1 on every write. A write names the version it read; DynamoDB refuses it if
 * another writer came first.
 */
public interface Versioned {

    long version();
}
