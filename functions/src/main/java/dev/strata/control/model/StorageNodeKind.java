package dev.strata.control.model;

/** The storage services the control plane places timelines on. */
public enum StorageNodeKind {
    SAFEKEEPER,
    PAGESERVER
}
