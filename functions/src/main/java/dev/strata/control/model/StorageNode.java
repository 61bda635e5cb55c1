package dev.strata.control.model;

import dev.strata.pgcore.id.NodeId;
import java.util.Objects;

/** A safekeeper or pageserver the control plane knows. */
public record StorageNode(NodeId id, StorageNodeKind kind, String address, StorageNodeState state, long version)
        implements Versioned {

    public StorageNode {
        Objects.requireNonNull(id, "id is null");
        Objects.requireNonNull(kind, "kind is null");
        Names.check("storage node address", address, Names.MAX_ADDRESS_LENGTH);
        Objects.requireNonNull(state, "state is null");
        Names.checkVersion(version);
    }

    public static StorageNode active(NodeId id, StorageNodeKind kind, String address) {
        return new StorageNode(id, kind, address, StorageNodeState.ACTIVE, 0);
    }

    public StorageNode withState(StorageNodeState s) {
        return new StorageNode(id, kind, address, s, version);
    }

    public StorageNode withVersion(long v) {
        return new StorageNode(id, kind, address, state, v);
    }
}
