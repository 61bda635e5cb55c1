package dev.strata.control.metadata;

import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.model.Project;
import dev.strata.control.model.StorageNode;
import dev.strata.control.model.StorageNodeKind;
import dev.strata.control.model.StorageNodeState;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * The item layout of every entity (docs/control-plane.md has the table). Keys are built here
 * and nowhere else. Every item carries {@code type} (checked on read, so a key collision or a
 * hand-written item is caught) and {@code version}.
 */
final class Codecs {

    static final String TYPE = "type";
    static final String VERSION = "version";
    static final String STATE = "state";

    private Codecs() {
    }

    /** The key of one item. */
    record Key(String pk, String sk) {
        Map<String, AttributeValue> toMap() {
            return Map.of(MetadataTable.PK, AttributeValue.fromS(pk), MetadataTable.SK, AttributeValue.fromS(sk));
        }
    }

    /** One entity's mapping. {@code what} names an item in messages ("endpoint ep-x"). */
    interface Codec<T> {
        String type();

        Key key(T value);

        String what(T value);

        Map<String, AttributeValue> toItem(T value);

        T fromItem(Map<String, AttributeValue> item);
    }

    static Attrs.Writer base(Codec<?> codec, Key key, long version) {
        return new Attrs.Writer().s(MetadataTable.PK, key.pk()).s(MetadataTable.SK, key.sk())
                .s(TYPE, codec.type()).n(VERSION, version);
    }

    static Attrs read(Codec<?> codec, Map<String, AttributeValue> item) {
        Attrs a = Attrs.of(item);
        String type = a.string(TYPE);
        if (!type.equals(codec.type())) {
            throw new MetadataException.CorruptItem("item (" + a.string(MetadataTable.PK) + ", "
                    + a.string(MetadataTable.SK) + ") is a '" + type + "', expected a '" + codec.type() + "'", null);
        }
        return a;
    }

    // ---- keys ----

    static Key projectKey(ProjectId id) {
        return new Key("PROJECT#" + id, "#PROJECT");
    }

    static Key branchKey(ProjectId project, BranchId id) {
        return new Key("PROJECT#" + project, "BRANCH#" + id);
    }

    static Key branchNameKey(ProjectId project, String name) {
        return new Key("PROJECT#" + project, "BRANCHNAME#" + name);
    }

    static Key endpointKey(EndpointId id) {
        return new Key("ENDPOINT#" + id, "#ENDPOINT");
    }

    static Key operationKey(OperationId id) {
        return new Key("OPERATION#" + id, "#OPERATION");
    }

    static Key agentKey(NodeId id) {
        return new Key("AGENT#" + id, "#AGENT");
    }

    static Key nodeKey(NodeId id) {
        return new Key("NODE#" + id, "#NODE");
    }

    /** gsi1 partitions. */
    static final String PROJECTS = "PROJECTS";
    static final String NODES = "NODES";

    static String projectPartition(ProjectId id) {
        return "PROJECT#" + id;
    }

    static String poolPartition(AgentState state) {
        return "POOL#" + state;
    }

    /** The gsi1 sort-key prefix of the agents claimed by {@code endpoint} ('#' is in no id). */
    static String claimedSortPrefix(EndpointId endpoint) {
        return endpoint + "#";
    }

    /** Operations sort by creation time within their project: 13-digit epoch millis, then the id. */
    static String operationSortKey(Instant createdAt, OperationId id) {
        return "OPERATION#" + String.format("%013d", createdAt.toEpochMilli()) + "#" + id;
    }

    // ---- entities ----

    static final Codec<Project> PROJECT = new Codec<>() {
        public String type() {
            return "project";
        }

        public Key key(Project p) {
            return projectKey(p.id());
        }

        public String what(Project p) {
            return "project " + p.id();
        }

        public Map<String, AttributeValue> toItem(Project p) {
            return base(this, key(p), p.version()).s(MetadataTable.GSI1_PK, PROJECTS)
                    .s(MetadataTable.GSI1_SK, p.id()).s("id", p.id()).s("name", p.name())
                    .n("createdAt", p.createdAt().toEpochMilli()).build();
        }

        public Project fromItem(Map<String, AttributeValue> item) {
            Attrs a = read(this, item);
            ProjectId id = a.parsed("id", ProjectId::of);
            String name = a.string("name");
            Instant created = Instant.ofEpochMilli(a.number("createdAt"));
            long version = a.number(VERSION);
            return a.build(() -> new Project(id, name, created, version));
        }
    };

    static final Codec<Branch> BRANCH = new Codec<>() {
        public String type() {
            return "branch";
        }

        public Key key(Branch b) {
            return branchKey(b.project(), b.id());
        }

        public String what(Branch b) {
            return "branch " + b.id() + " of project " + b.project();
        }

        public Map<String, AttributeValue> toItem(Branch b) {
            return base(this, key(b), b.version()).s("project", b.project()).s("id", b.id()).s("name", b.name())
                    .s("timeline", b.timeline()).s("parent", b.parent()).s("branchLsn", b.branchLsn())
                    .s(STATE, b.state().name()).build();
        }

        public Branch fromItem(Map<String, AttributeValue> item) {
            Attrs a = read(this, item);
            var project = a.parsed("project", ProjectId::of);
            var id = a.parsed("id", BranchId::of);
            var name = a.string("name");
            var timeline = a.parsed("timeline", TimelineId::parse);
            var parent = a.optionalParsed("parent", BranchId::of);
            var lsn = a.optionalParsed("branchLsn", Lsn::parse);
            var state = a.enumValue(STATE, BranchState.class);
            long version = a.number(VERSION);
            return a.build(() -> new Branch(project, id, name, timeline, parent, lsn, state, version));
        }
    };

    static final Codec<Endpoint> ENDPOINT = new Codec<>() {
        public String type() {
            return "endpoint";
        }

        public Key key(Endpoint e) {
            return endpointKey(e.id());
        }

        public String what(Endpoint e) {
            return "endpoint " + e.id();
        }

        public Map<String, AttributeValue> toItem(Endpoint e) {
            return base(this, key(e), e.version()).s(MetadataTable.GSI1_PK, projectPartition(e.project()))
                    .s(MetadataTable.GSI1_SK, "ENDPOINT#" + e.id()).s("id", e.id()).s("project", e.project())
                    .s("branch", e.branch()).n("cpuMillis", e.compute().cpuMillis())
                    .n("memoryMib", e.compute().memoryMib()).s(STATE, e.state().name()).s("address", e.address())
                    .s("agent", e.agent()).n("idleTimeoutMs", e.idleTimeout().toMillis())
                    .s("operation", e.operation()).build();
        }

        public Endpoint fromItem(Map<String, AttributeValue> item) {
            Attrs a = read(this, item);
            var id = a.parsed("id", EndpointId::of);
            var project = a.parsed("project", ProjectId::of);
            var branch = a.parsed("branch", BranchId::of);
            long cpu = a.number("cpuMillis");
            long mem = a.number("memoryMib");
            var state = a.enumValue(STATE, EndpointState.class);
            var address = a.optionalString("address");
            var agent = a.optionalParsed("agent", NodeId::of);
            long idleMs = a.number("idleTimeoutMs");
            var operation = a.optionalParsed("operation", OperationId::of);
            long version = a.number(VERSION);
            return a.build(() -> new Endpoint(id, project, branch,
                    new ComputeSettings(Math.toIntExact(cpu), Math.toIntExact(mem)), state, address, agent,
                    Duration.ofMillis(idleMs), operation, version));
        }
    };

    static final Codec<Operation> OPERATION = new Codec<>() {
        public String type() {
            return "operation";
        }

        public Key key(Operation o) {
            return operationKey(o.id());
        }

        public String what(Operation o) {
            return "operation " + o.id();
        }

        public Map<String, AttributeValue> toItem(Operation o) {
            return base(this, key(o), o.version()).s(MetadataTable.GSI1_PK, projectPartition(o.project()))
                    .s(MetadataTable.GSI1_SK, operationSortKey(o.createdAt(), o.id())).s("id", o.id())
                    .s("project", o.project()).s("kind", o.kind().name()).s(STATE, o.state().name())
                    .s("branch", o.branch()).s("endpoint", o.endpoint()).s("executionArn", o.executionArn())
                    .s("error", o.error()).s("input", o.input()).n("createdAt", o.createdAt().toEpochMilli())
                    .n("updatedAt", o.updatedAt().toEpochMilli()).build();
        }

        public Operation fromItem(Map<String, AttributeValue> item) {
            Attrs a = read(this, item);
            var id = a.parsed("id", OperationId::of);
            var project = a.parsed("project", ProjectId::of);
            var kind = a.enumValue("kind", OperationKind.class);
            var state = a.enumValue(STATE, OperationState.class);
            var branch = a.optionalParsed("branch", BranchId::of);
            var endpoint = a.optionalParsed("endpoint", EndpointId::of);
            var arn = a.optionalString("executionArn");
            var error = a.optionalString("error");
            var input = a.optionalString("input");
            var created = Instant.ofEpochMilli(a.number("createdAt"));
            var updated = Instant.ofEpochMilli(a.number("updatedAt"));
            long version = a.number(VERSION);
            return a.build(() -> new Operation(id, project, kind, state, branch, endpoint, arn, error, input, created,
                    updated, version));
        }
    };

    static final Codec<ComputeAgent> AGENT = new Codec<>() {
        public String type() {
            return "agent";
        }

        public Key key(ComputeAgent c) {
            return agentKey(c.id());
        }

        public String what(ComputeAgent c) {
            return "compute agent " + c.id();
        }

        public Map<String, AttributeValue> toItem(ComputeAgent c) {
            // a claimed agent sorts under its endpoint, so a retried wake finds it with one query
            String sortKey = c.claimedBy().map(e -> claimedSortPrefix(e) + c.id()).orElse(c.id().value());
            return base(this, key(c), c.version()).s(MetadataTable.GSI1_PK, poolPartition(c.state()))
                    .s(MetadataTable.GSI1_SK, sortKey).s("id", c.id()).s("address", c.address())
                    .s(STATE, c.state().name()).s("claimedBy", c.claimedBy()).build();
        }

        public ComputeAgent fromItem(Map<String, AttributeValue> item) {
            Attrs a = read(this, item);
            var id = a.parsed("id", NodeId::of);
            var address = a.string("address");
            var state = a.enumValue(STATE, AgentState.class);
            var claimedBy = a.optionalParsed("claimedBy", EndpointId::of);
            long version = a.number(VERSION);
            return a.build(() -> new ComputeAgent(id, address, state, claimedBy, version));
        }
    };

    static final Codec<StorageNode> NODE = new Codec<>() {
        public String type() {
            return "storage-node";
        }

        public Key key(StorageNode n) {
            return nodeKey(n.id());
        }

        public String what(StorageNode n) {
            return n.kind().name().toLowerCase(java.util.Locale.ROOT) + " " + n.id();
        }

        public Map<String, AttributeValue> toItem(StorageNode n) {
            return base(this, key(n), n.version()).s(MetadataTable.GSI1_PK, NODES)
                    .s(MetadataTable.GSI1_SK, n.kind().name() + "#" + n.id()).s("id", n.id())
                    .s("kind", n.kind().name()).s("address", n.address()).s(STATE, n.state().name()).build();
        }

        public StorageNode fromItem(Map<String, AttributeValue> item) {
            Attrs a = read(this, item);
            var id = a.parsed("id", NodeId::of);
            var kind = a.enumValue("kind", StorageNodeKind.class);
            var address = a.string("address");
            var state = a.enumValue(STATE, StorageNodeState.class);
            long version = a.number(VERSION);
            return a.build(() -> new StorageNode(id, kind, address, state, version));
        }
    };
}
