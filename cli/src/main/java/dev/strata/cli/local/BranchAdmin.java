package dev.strata.cli.local;

import dev.strata.control.storage.BranchTarget;

import dev.strata.cli.local.AdminServer.Reply;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin port's branch routes over {@link LocalCluster}, answered in plain text for the
 * {@code strata branch|restore|connect} commands:
 *
 * <pre>
 * GET    /branches[?format=json]                the branch tree (or a JSON array)
 * POST   /branches?name=N&amp;parent=P[&amp;at=X]       create (X: head, an LSN or an ISO-8601 instant)
 * DELETE /branches/N                            delete
 * POST   /branches/N/restore?to=X[&amp;from=S]       restore N to X on S (default: N itself)
 * GET    /branches/N/connection                 the connection string of N's endpoint
 * GET    /branches/N/verify-target              what `strata verify` needs of N (starts nothing)
 * </pre>
 *
 * A request the cluster refuses (an unknown branch, a name taken, a point outside history) is a
 * 400 with the reason; {@link AdminServer} turns an {@link IllegalArgumentException} into it.
 * On a cluster that runs the control plane only the GET routes answer: a create, delete or
 * restore is a 409 naming the API, so that there is one list of branches, the metadata's.
 */
public final class BranchAdmin implements AdminServer.Routes {

    private final LocalCluster cluster;

    public BranchAdmin(LocalCluster cluster) {
        this.cluster = cluster;
    }

    @Override
    public Reply handle(String method, List<String> path, Map<String, String> query) {
        if (!method.equals("GET") && cluster.controlPlane().isPresent()) {
            // One list of branches: on a cluster that runs the control plane, the metadata's. A branch
            // made here would be one the API, the proxy's wakes and `strata branch list` never see.
            return new Reply(409, "this cluster runs the control plane: branches are made, deleted and restored "
                    + "through its API (`strata branch|restore` without --no-control-plane); the admin port serves "
                    + "them only on a cluster started with `strata up --no-control-plane`\n");
        }
        if (path.size() == 1) {
            return switch (method) {
                case "GET" -> new Reply(200, "json".equals(query.get("format")) ? json(cluster.branches())
                        : tree(cluster.branches()));
                case "POST" -> create(query);
                default -> new Reply(405, "use GET or POST /branches\n");
            };
        }
        String name = path.get(1);
        if (path.size() == 2) {
            if (!method.equals("DELETE")) {
                return new Reply(405, "use DELETE /branches/" + name + "\n");
            }
            cluster.deleteBranch(name);
            return new Reply(200, "deleted branch '" + name + "'\n");
        }
        if (path.size() == 3 && path.get(2).equals("restore")) {
            if (!method.equals("POST")) {
                return new Reply(405, "use POST /branches/" + name + "/restore\n");
            }
            BranchTarget to = BranchTarget.parse(require(query, "to"), Clock.systemUTC());
            LocalCluster.Restored r = cluster.restore(name, to, query.get("from"));
            return new Reply(200, String.format("restored branch '%s' to %s (timeline %s) in %d ms; its previous state "
                            + "is branch '%s' (undo: strata restore %s --from %s)%n", name, r.lsn(),
                    r.branch().timeline(), r.took().toMillis(), r.backup().name(), name, r.backup().name()));
        }
        if (path.size() == 3 && path.get(2).equals("connection")) {
            if (!method.equals("GET")) {
                return new Reply(405, "use GET /branches/" + name + "/connection\n");
            }
            cluster.branch(name); // an unknown name is a 400 with the list of branches
            return new Reply(200, cluster.connectionString(name) + "\n");
        }
        if (path.size() == 3 && path.get(2).equals("verify-target")) {
            if (!method.equals("GET")) {
                return new Reply(405, "use GET /branches/" + name + "/verify-target\n");
            }
            cluster.branch(name); // an unknown name is a 400 with the list of branches
            return new Reply(200, cluster.verifyTarget(name).toProperties());
        }
        return new Reply(404, "unknown path /" + String.join("/", path) + "\n");
    }

    private Reply create(Map<String, String> query) {
        String name = require(query, "name");
        String parent = query.getOrDefault("parent", LocalCluster.BRANCH);
        BranchTarget at = query.containsKey("at") ? BranchTarget.parse(query.get("at"), Clock.systemUTC())
                : BranchTarget.HEAD;
        long t0 = System.nanoTime();
        LocalBranch b = cluster.createBranch(name, parent, at);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        return new Reply(201, String.format("created branch '%s' from '%s' at %s (timeline %s) in %d ms; connect with:%n%s%n",
                b.name(), parent, b.branchLsn().orElseThrow(), b.timeline(), ms, cluster.connectionString(b.name())));
    }

    private static String require(Map<String, String> query, String name) {
        String v = query.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("'" + name + "' is missing");
        }
        return v;
    }

    /**
     * The branches as a tree, each child under the branch it was made from:
     * <pre>
     * main  timeline 5f2e..  at 0/3A1B2C8  size 48 MB  own layers 61 MB  compute running  endpoint main
     * └─ dev  from 0/2F00010  timeline 9c01..  at 0/2F00010  size 47 MB  own layers 0 B  compute stopped  endpoint dev
     * </pre>
     */
    static String tree(List<LocalCluster.BranchInfo> branches) {
        Map<String, List<LocalCluster.BranchInfo>> children = new HashMap<>();
        List<LocalCluster.BranchInfo> roots = new ArrayList<>();
        Map<String, LocalCluster.BranchInfo> byName = new HashMap<>();
        for (LocalCluster.BranchInfo b : branches) {
            byName.put(b.branch().name(), b);
        }
        for (LocalCluster.BranchInfo b : branches) {
            String parent = b.branch().parent().orElse(null);
            if (parent == null || !byName.containsKey(parent)) {
                roots.add(b);
            } else {
                children.computeIfAbsent(parent, k -> new ArrayList<>()).add(b);
            }
        }
        StringBuilder out = new StringBuilder();
        for (LocalCluster.BranchInfo root : roots) {
            render(out, root, "", "", children);
        }
        return out.toString();
    }

    /**
     * The branches as a JSON array, for scripts: {@code name, timeline, parent, branchLsn,
     * lastRecordLsn, logicalSize, layerBytes, endpoint, compute, created} (parent and branchLsn null for a root).
     */
    static String json(List<LocalCluster.BranchInfo> branches) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < branches.size(); i++) {
            LocalCluster.BranchInfo b = branches.get(i);
            LocalBranch br = b.branch();
            out.append(i == 0 ? "\n  {" : ",\n  {")
                    .append("\"name\": ").append(quote(br.name()))
                    .append(", \"timeline\": ").append(quote(br.timeline().toString()))
                    .append(", \"parent\": ").append(br.parent().map(BranchAdmin::quote).orElse("null"))
                    .append(", \"branchLsn\": ").append(br.branchLsn().map(l -> quote(l.toString())).orElse("null"))
                    .append(", \"lastRecordLsn\": ").append(quote(b.lastRecordLsn().toString()))
                    .append(", \"logicalSize\": ").append(b.logicalSize() < 0 ? "null" : Long.toString(b.logicalSize()))
                    .append(", \"layerBytes\": ").append(b.layerBytes() < 0 ? "null" : Long.toString(b.layerBytes()))
                    .append(", \"endpoint\": ").append(quote(br.endpoint().toString()))
                    .append(", \"compute\": ").append(quote(b.compute()))
                    .append(", \"created\": ").append(quote(br.created().toString()))
                    .append('}');
        }
        return out.append(branches.isEmpty() ? "]\n" : "\n]\n").toString();
    }

    /** Bytes for people: {@code 812 kB}, {@code 1.4 GB}; "?" if unknown. */
    static String bytes(long n) {
        if (n < 0) {
            return "?";
        }
        if (n < 1000) {
            return n + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return (v < 10 ? String.format("%.1f", v) : String.format("%.0f", v)) + " " + units[u];
    }

    /** A JSON string literal. */
    static String quote(String s) {
        StringBuilder q = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        q.append(String.format("\\u%04x", (int) c));
                    } else {
                        q.append(c);
                    }
                }
            }
        }
        return q.append('"').toString();
    }

    private static void render(StringBuilder out, LocalCluster.BranchInfo b, String lead, String childLead,
                               Map<String, List<LocalCluster.BranchInfo>> children) {
        LocalBranch br = b.branch();
        out.append(lead).append(br.name())
                .append(br.branchLsn().map(l -> "  from " + l).orElse(""))
                .append("  timeline ").append(br.timeline())
                .append("  at ").append(b.lastRecordLsn())
                .append("  size ").append(bytes(b.logicalSize()))
                .append("  own layers ").append(bytes(b.layerBytes()))
                .append("  compute ").append(b.compute())
                .append("  endpoint ").append(br.endpoint()).append('\n');
        List<LocalCluster.BranchInfo> kids = children.getOrDefault(br.name(), List.of());
        for (int i = 0; i < kids.size(); i++) {
            boolean last = i == kids.size() - 1;
            render(out, kids.get(i), childLead + (last ? "└─ " : "├─ "), childLead + (last ? "   " : "│  "), children);
        }
    }
}
