package dev.strata.cli;

import dev.strata.pgcore.id.ProjectId;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.cli.ApiCommands.Client;
import dev.strata.cli.StrataCli.BranchArgs;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.control.model.OperationId;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code strata branch create|list|delete}, {@code strata restore} and {@code strata connect}
 * through the control-plane API (issue 15: the cli talks only to it), on the cluster's project
 * {@value #PROJECT} or the one {@code --project} names. Branches are addressed by name: each
 * command reads the project's branches ({@code GET /v1/projects/<project>/branches}) and acts on
 * the id of the one named, so an unknown
 * name is refused before anything is scheduled, with the names that exist. A mutation answers
 * with an operation, followed as {@link ApiCommands} follows one (each state printed; with
 * {@code --json} the progress goes to stderr and the result to stdout). Exit codes as
 * {@link ApiCommands}: 0 ok, 1 refused or failed, 3 no API reachable, 64 usage.
 *
 * <p>A branch's endpoint is the metadata's (made by the create-branch workflow); the proxy routes a
 * connection to it by its id in the {@code options} startup parameter, and wakes it through the
 * wake workflow as it wakes {@code main} (decision 0031). {@code connect} prints that connection
 * string: the one {@code up} printed for {@code main} (in {@code <data-dir>/run/ready}, owner
 * only) with the branch's endpoint in place of main's.
 */
final class BranchCommands {

    static final String PROJECT = "default";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ENDPOINT_OPTION = Pattern.compile("options=endpoint%3D[a-z0-9-]+");

    private final PrintStream out;
    private final PrintStream err;
    private final ApiCommands api;

    BranchCommands(PrintStream out, PrintStream err, Map<String, String> env, Clock clock) {
        this.out = out;
        this.err = err;
        this.api = new ApiCommands(out, err, env, clock);
    }

    int run(BranchArgs a) {
        try {
            Client c = api.client(a.api(), a.dataDir());
            if (c == null) {
                return 3;
            }
            return switch (a.action()) {
                case "list" -> list(c, a);
                case "create" -> create(c, a);
                case "delete" -> delete(c, a);
                case "restore" -> restore(c, a);
                case "connect" -> connect(c, a);
                default -> throw new IllegalStateException(a.action());
            };
        } catch (StrataCli.UsageException e) {
            err.println("strata: " + e.getMessage());
            return 64;
        } catch (Refused r) {
            return r.exit;
        } catch (IOException e) {
            err.println("strata " + a.action() + ": the control-plane API did not answer: " + e);
            return 3;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** A request the API refused (already reported on stderr), or a name that does not exist. */
    private static final class Refused extends Exception {
        final int exit;

        Refused(int exit) {
            super(null, null, false, false);
            this.exit = exit;
        }
    }

    private JsonNode get(Client c, String path) throws IOException, InterruptedException, Refused {
        HttpResponse<String> r = c.send("GET", path, null);
        if (r.statusCode() != 200) {
            throw new Refused(api.refused(r));
        }
        return JSON.readTree(r.body());
    }

    private JsonNode branches(Client c, ProjectId project) throws IOException, InterruptedException, Refused {
        return get(c, "/v1/projects/" + project + "/branches");
    }

    private JsonNode endpoints(Client c, ProjectId project) throws IOException, InterruptedException, Refused {
        return get(c, "/v1/projects/" + project + "/endpoints");
    }

    /** The branch named {@code name}, or a refusal naming the branches there are. */
    private JsonNode byName(JsonNode branches, String name, ProjectId project) throws Refused {
        for (JsonNode b : branches) {
            if (b.path("name").asText().equals(name)) {
                return b;
            }
        }
        List<String> names = new ArrayList<>();
        branches.forEach(b -> names.add(b.path("name").asText()));
        err.println("strata: no branch '" + name + "' in project " + project + " (branches: " + String.join(", ", names)
                + ")");
        throw new Refused(1);
    }

    private static Optional<JsonNode> endpointOf(JsonNode endpoints, String branchId) {
        for (JsonNode e : endpoints) {
            if (e.path("branch").asText().equals(branchId)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** Sends a mutation that answers 202 with an operation and follows it. */
    private ApiCommands.Followed mutate(Client c, BranchArgs a, String method, String path, JsonNode body)
            throws IOException, InterruptedException, Refused {
        HttpResponse<String> r = c.send(method, path, body == null ? null : body.toString());
        if (r.statusCode() != 202) {
            throw new Refused(api.refused(r));
        }
        return api.follow(c, JSON.readTree(r.body()), a.json(), a.follow(), a.timeout());
    }

    // ------------------------------------------------------------------ list

    /**
     * The branches parents first (a depth-first walk of the tree, children under their parent),
     * each with its parent's name and its endpoint's id and state.
     */
    private int list(Client c, BranchArgs a) throws IOException, InterruptedException, Refused {
        ArrayNode rows = annotated(branches(c, a.project()), endpoints(c, a.project()));
        if (a.json()) {
            out.println(rows.toString());
            return 0;
        }
        ArrayNode shown = JSON.createArrayNode();
        for (JsonNode r : rows) { // the tree: a child indented under its parent
            ObjectNode row = (ObjectNode) r.deepCopy();
            row.put("name", "  ".repeat(r.path("depth").asInt()) + r.path("name").asText());
            shown.add(row);
        }
        api.printTable(shown, List.of("name", "state", "parentName", "branchLsn", "timeline", "endpoint",
                "endpointState"));
        return 0;
    }

    /** The API's branch rows in tree order, with {@code parentName}, {@code depth}, {@code endpoint}, {@code endpointState}. */
    static ArrayNode annotated(JsonNode branches, JsonNode endpoints) {
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        branches.forEach(b -> byId.put(b.path("id").asText(), b));
        Map<String, List<JsonNode>> children = new LinkedHashMap<>();
        List<JsonNode> roots = new ArrayList<>();
        for (JsonNode b : branches) {
            String parent = b.path("parent").asText(null);
            if (parent == null || !byId.containsKey(parent)) {
                roots.add(b);
            } else {
                children.computeIfAbsent(parent, k -> new ArrayList<>()).add(b);
            }
        }
        roots.sort((x, y) -> x.path("name").asText().equals("main") ? -1 : y.path("name").asText().equals("main") ? 1
                : x.path("name").asText().compareTo(y.path("name").asText()));
        children.values().forEach(l -> l.sort((x, y) -> x.path("name").asText().compareTo(y.path("name").asText())));
        ArrayNode out = JSON.createArrayNode();
        java.util.ArrayDeque<Map.Entry<JsonNode, Integer>> stack = new java.util.ArrayDeque<>();
        for (JsonNode r : roots.reversed()) {
            stack.push(Map.entry(r, 0));
        }
        while (!stack.isEmpty()) {
            Map.Entry<JsonNode, Integer> next = stack.pop();
            JsonNode b = next.getKey();
            ObjectNode row = ((ObjectNode) b.deepCopy());
            String parent = b.path("parent").asText(null);
            row.put("parentName", parent == null || !byId.containsKey(parent) ? null
                    : byId.get(parent).path("name").asText());
            row.put("depth", next.getValue());
            Optional<JsonNode> e = endpointOf(endpoints, b.path("id").asText());
            row.put("endpoint", e.map(n -> n.path("id").asText()).orElse(null));
            row.put("endpointState", e.map(n -> n.path("state").asText()).orElse(null));
            out.add(row);
            List<JsonNode> kids = children.getOrDefault(b.path("id").asText(), List.of());
            for (JsonNode k : kids.reversed()) {
                stack.push(Map.entry(k, next.getValue() + 1));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ create, delete

    private int create(Client c, BranchArgs a) throws IOException, InterruptedException, Refused {
        JsonNode all = branches(c, a.project());
        for (JsonNode b : all) {
            if (b.path("name").asText().equals(a.name())) {
                err.println("strata: project " + a.project() + " already has a branch named '" + a.name() + "' ("
                        + b.path("id").asText() + ", " + b.path("state").asText() + ")");
                return 1;
            }
        }
        JsonNode parent = byName(all, a.parent() == null ? "main" : a.parent(), a.project());
        ObjectNode body = JSON.createObjectNode().put("name", a.name()).put("parent", parent.path("id").asText())
                .put("endpoint", true);
        if (a.point() != null) {
            body.set("at", JSON.valueToTree(a.point().toJson()));
        }
        if (!a.json()) {
            out.println("creating branch '" + a.name() + "' from '" + parent.path("name").asText() + "' at "
                    + (a.point() == null ? "its newest commit" : a.point()));
        }
        ApiCommands.Followed f = mutate(c, a, "POST", "/v1/projects/" + a.project() + "/branches", body);
        if (!f.succeeded()) {
            return noWaitResult(a, f);
        }
        JsonNode made = byName(annotated(branches(c, a.project()), endpoints(c, a.project())), a.name(), a.project());
        if (a.json()) {
            ObjectNode result = ((ObjectNode) made.deepCopy());
            result.put("operation", f.op().path("id").asText());
            out.println(result.toString());
            return 0;
        }
        out.println("branch '" + a.name() + "' (" + made.path("id").asText() + ") created from '"
                + parent.path("name").asText() + "' at " + made.path("branchLsn").asText() + ", timeline "
                + made.path("timeline").asText() + ", endpoint " + made.path("endpoint").asText("(none)"));
        connection(a.dataDir(), made.path("endpoint").asText(null)).ifPresent(uri -> {
            out.println("connect (its compute starts on the first connection):");
            out.println(uri);
        });
        return 0;
    }

    /** What a mutation that did not (yet) succeed exits with: --no-wait prints the operation; otherwise its failure. */
    private int noWaitResult(BranchArgs a, ApiCommands.Followed f) {
        if (f.exit() == 0 && !a.follow()) {
            if (a.json()) {
                out.println(f.op().toString());
            }
            return 0;
        }
        if (a.json() && f.op() != null) {
            out.println(f.op().toString());
        }
        return f.exit() == 0 ? 1 : f.exit();
    }

    private int delete(Client c, BranchArgs a) throws IOException, InterruptedException, Refused {
        JsonNode b = byName(branches(c, a.project()), a.name(), a.project());
        ApiCommands.Followed f = mutate(c, a, "DELETE", "/v1/projects/" + a.project() + "/branches/"
                + ApiCommands.q(b.path("id").asText()), null);
        if (!f.succeeded()) {
            return noWaitResult(a, f);
        }
        if (a.json()) {
            out.println(JSON.createObjectNode().put("deleted", a.name()).put("id", b.path("id").asText())
                    .put("operation", f.op().path("id").asText()).toString());
        } else {
            out.println("branch '" + a.name() + "' deleted (timeline " + b.path("timeline").asText() + ")");
        }
        return 0;
    }

    // ------------------------------------------------------------------ restore

    private int restore(Client c, BranchArgs a) throws IOException, InterruptedException, Refused {
        JsonNode all = branches(c, a.project());
        JsonNode b = byName(all, a.name(), a.project());
        JsonNode source = a.source() == null ? b : byName(all, a.source(), a.project());
        BranchTarget to = a.point() == null ? BranchTarget.HEAD : a.point();
        if (source == b && to instanceof BranchTarget.Head) {
            throw new StrataCli.UsageException("restoring branch '" + a.name() + "' to its own newest state changes "
                    + "nothing: give a point (--to TIME|LSN) or another branch to restore from (--from)");
        }
        ObjectNode body = JSON.createObjectNode().put("from", source.path("id").asText());
        body.set("to", JSON.valueToTree(to.toJson()));
        if (!a.json()) {
            out.println("restoring branch '" + a.name() + "' to " + (source == b ? "" : "'" + source.path("name").asText()
                    + "' at ") + (to instanceof BranchTarget.Head ? "its newest commit" : to));
        }
        ApiCommands.Followed f = mutate(c, a, "POST", "/v1/projects/" + a.project() + "/branches/"
                + ApiCommands.q(b.path("id").asText()) + "/restore", body);
        if (!f.succeeded()) {
            return noWaitResult(a, f);
        }
        JsonNode now = annotated(branches(c, a.project()), endpoints(c, a.project()));
        JsonNode restored = byName(now, a.name(), a.project());
        String backupId = StepIds.backupBranch(OperationId.of(f.op().path("id").asText())).toString();
        String backup = null;
        for (JsonNode x : now) {
            if (x.path("id").asText().equals(backupId)) {
                backup = x.path("name").asText();
            }
        }
        if (a.json()) {
            ObjectNode result = ((ObjectNode) restored.deepCopy());
            result.put("backup", backup);
            result.put("operation", f.op().path("id").asText());
            out.println(result.toString());
            return 0;
        }
        out.println("branch '" + a.name() + "' restored to " + restored.path("branchLsn").asText() + " (timeline "
                + restored.path("timeline").asText() + ")" + (backup == null ? "" : "; its previous state is branch '"
                + backup + "' (undo: `strata restore " + a.name() + " --from " + backup + "`)"));
        return 0;
    }

    // ------------------------------------------------------------------ connect

    /**
     * The branch's endpoint's connection string through the proxy (its compute is woken by the
     * first connection); a branch without an endpoint gets one ({@code POST /endpoints}, suspended).
     */
    private int connect(Client c, BranchArgs a) throws IOException, InterruptedException, Refused {
        JsonNode b = byName(branches(c, a.project()), a.name(), a.project());
        Optional<JsonNode> e = endpointOf(endpoints(c, a.project()), b.path("id").asText());
        String endpoint;
        if (e.isPresent()) {
            endpoint = e.get().path("id").asText();
        } else {
            HttpResponse<String> r = c.send("POST", "/v1/projects/" + a.project() + "/endpoints",
                    JSON.createObjectNode().put("branch", b.path("id").asText()).toString());
            if (r.statusCode() != 201) {
                return api.refused(r);
            }
            endpoint = JSON.readTree(r.body()).path("id").asText();
            err.println("strata: branch '" + a.name() + "' had no endpoint; created " + endpoint);
        }
        Optional<String> uri = connection(a.dataDir(), endpoint);
        if (uri.isEmpty()) {
            err.println("strata: no connection string in " + new ClusterLayout(a.dataDir()).readyFile()
                    + " (is `./strata up` running on " + a.dataDir() + "?); the endpoint is " + endpoint
                    + ": connect through the proxy with options=endpoint%3D" + endpoint);
            return 1;
        }
        if (a.json()) {
            out.println(JSON.createObjectNode().put("branch", a.name()).put("endpoint", endpoint)
                    .put("connection", uri.get()).toString());
        } else {
            out.println(uri.get());
        }
        return 0;
    }

    /** {@code up}'s connection string for main with {@code endpoint} in its place, if {@code up} wrote one. */
    static Optional<String> connection(Path dataDir, String endpoint) throws IOException {
        if (endpoint == null) {
            return Optional.empty();
        }
        Path ready = new ClusterLayout(dataDir).readyFile();
        if (!Files.isRegularFile(ready)) {
            return Optional.empty();
        }
        return forEndpoint(Files.readString(ready).trim(), endpoint);
    }

    /** {@code uri} (a proxy connection string naming an endpoint in its options) naming {@code endpoint} instead. */
    static Optional<String> forEndpoint(String uri, String endpoint) {
        Matcher m = ENDPOINT_OPTION.matcher(uri);
        if (!m.find()) {
            return Optional.empty();
        }
        return Optional.of(m.replaceFirst(Matcher.quoteReplacement("options=endpoint%3D" + endpoint)));
    }
}
