package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.cli.StrataCli.UsageException;
import dev.strata.pgcore.auth.BearerToken;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The {@code strata} commands that talk to the control-plane API (docs/control-plane.md "API") and to
 * nothing else:
 *
 * <pre>
 * strata project list | create NAME [--id ID] | delete ID
 * strata endpoint list --project ID | start ID | suspend ID
 * strata operation list --project ID | show ID
 *   common: [--json] [--api URL] [--data-dir DIR] [--no-wait] [--timeout SECONDS]
 * </pre>
 *
 * The API's URL is {@code --api}, else {@code STRATA_API_URL}, else the file
 * {@code <data-dir>/control-api.url}; its token {@code STRATA_API_TOKEN}, else the file
 * {@code <data-dir>/auth/controlapi.token}. A mutation answers with an operation; unless
 * {@code --no-wait}, the command polls it (every {@link #POLL}, at most {@code --timeout}, default
 * {@link #DEFAULT_TIMEOUT}) and prints each state it goes through. With {@code --json} the final JSON
 * goes to stdout and the progress to stderr. Exit codes: 0 ok, 1 the request or the operation failed
 * (or the wait timed out), 3 no API reachable, 64 usage.
 */
final class ApiCommands {

    static final List<String> COMMANDS = List.of("project", "endpoint", "operation");
    static final String URL_ENV = "STRATA_API_URL";
    static final String TOKEN_ENV = "STRATA_API_TOKEN";
    static final String URL_FILE = "control-api.url";
    static final String TOKEN_FILE = "controlapi.token";
    static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    static final Duration POLL = Duration.ofMillis(250);
    static final String USAGE = "strata project list | project create NAME [--id ID] | project delete ID | "
            + "endpoint list --project ID | endpoint start ID | endpoint suspend ID | operation list --project ID | "
            + "operation show ID   [--json] [--api URL] [--data-dir DIR] [--no-wait] [--timeout SECONDS]";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;
    private final Clock clock;

    ApiCommands(PrintStream out, PrintStream err, Map<String, String> env, Clock clock) {
        this.out = out;
        this.err = err;
        this.env = env;
        this.clock = clock;
    }

    /** Parsed arguments of one API command. */
    record Args(String command, String action, String target, String project, String id, boolean json, String api,
                Path dataDir, boolean follow, Duration timeout) {
    }

    static Args parse(String[] argv, Map<String, String> env) {
        String command = argv[0];
        if (argv.length < 2) {
            throw new UsageException(command + " needs an action");
        }
        String action = argv[1];
        List<String> actions = switch (command) {
            case "project" -> List.of("list", "create", "delete");
            case "endpoint" -> List.of("list", "start", "suspend");
            case "operation" -> List.of("list", "show");
            default -> throw new UsageException("unknown command '" + command + "'");
        };
        if (!actions.contains(action)) {
            throw new UsageException("unknown " + command + " action '" + action + "' (" + String.join(", ", actions) + ")");
        }
        String target = null;
        String project = null;
        String id = null;
        boolean json = false;
        boolean wait = true;
        String api = null;
        Path dataDir = Path.of(env.getOrDefault("STRATA_DATA_DIR", ".strata"));
        Duration timeout = DEFAULT_TIMEOUT;
        for (int i = 2; i < argv.length; i++) {
            switch (argv[i]) {
                case "--json" -> json = true;
                case "--no-wait" -> wait = false;
                case "--api" -> api = value(argv, ++i, "--api");
                case "--data-dir" -> dataDir = Path.of(value(argv, ++i, "--data-dir"));
                case "--project" -> project = value(argv, ++i, "--project");
                case "--id" -> {
                    if (!(command.equals("project") && action.equals("create"))) {
                        throw new UsageException("--id is an option of project create");
                    }
                    id = value(argv, ++i, "--id");
                }
                case "--timeout" -> {
                    String v = value(argv, ++i, "--timeout");
                    try {
                        long s = Long.parseLong(v);
                        if (s < 1 || s > 86_400) {
                            throw new NumberFormatException();
                        }
                        timeout = Duration.ofSeconds(s);
                    } catch (NumberFormatException e) {
                        throw new UsageException("--timeout takes 1 to 86400 seconds, got '" + v + "'");
                    }
                }
                default -> {
                    if (argv[i].startsWith("-")) {
                        throw new UsageException("unknown option '" + argv[i] + "' for " + command + " " + action);
                    }
                    if (target != null || action.equals("list")) {
                        throw new UsageException("unexpected argument '" + argv[i] + "'");
                    }
                    target = argv[i];
                }
            }
        }
        if (action.equals("list") && !command.equals("project") && project == null) {
            throw new UsageException(command + " list needs --project ID");
        }
        if (!action.equals("list") && target == null) {
            throw new UsageException(command + " " + action + " needs " + (action.equals("create") ? "a name" : "an id"));
        }
        return new Args(command, action, target, project, id, json, api, dataDir, wait, timeout);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    int run(String[] argv) {
        Args a;
        try {
            a = parse(argv, env);
        } catch (UsageException e) {
            err.println("strata: " + e.getMessage());
            err.println("usage: " + USAGE);
            return 64;
        }
        try {
            Client c = client(a);
            if (c == null) {
                return 3;
            }
            return switch (a.command() + " " + a.action()) {
                case "project list" -> list(c, a, "/v1/projects", List.of("id", "name", "createdAt"));
                case "project create" -> {
                    ObjectNode body = JSON.createObjectNode().put("name", a.target());
                    if (a.id() != null) {
                        body.put("id", a.id());
                    }
                    yield mutate(c, a, "POST", "/v1/projects", body.toString());
                }
                case "project delete" -> {
                    HttpResponse<String> r = c.send("DELETE", "/v1/projects/" + q(a.target()), null);
                    if (r.statusCode() / 100 != 2) {
                        yield refused(r);
                    }
                    if (a.json()) {
                        out.println(JSON.createObjectNode().put("deleted", a.target()));
                    } else {
                        out.println("deleted project " + a.target());
                    }
                    yield 0;
                }
                case "endpoint list" -> list(c, a, "/v1/projects/" + q(a.project()) + "/endpoints",
                        List.of("id", "branch", "state", "address", "operation"));
                case "endpoint start" -> mutate(c, a, "POST", "/v1/endpoints/" + q(a.target()) + "/start", null);
                case "endpoint suspend" -> mutate(c, a, "POST", "/v1/endpoints/" + q(a.target()) + "/suspend", null);
                case "operation list" -> list(c, a, "/v1/operations?project=" + q(a.project()),
                        List.of("id", "kind", "state", "createdAt", "executionArn", "error"));
                case "operation show" -> {
                    HttpResponse<String> r = c.send("GET", "/v1/operations/" + q(a.target()), null);
                    if (r.statusCode() != 200) {
                        yield refused(r);
                    }
                    JsonNode op = JSON.readTree(r.body());
                    if (a.json()) {
                        out.println(op.toString());
                    } else {
                        printOperation(op);
                    }
                    yield op.path("state").asText().equals("FAILED") ? 1 : 0;
                }
                default -> throw new IllegalStateException(a.command() + " " + a.action());
            };
        } catch (UsageException e) {
            err.println("strata: " + e.getMessage());
            return 64;
        } catch (IOException e) {
            err.println("strata " + a.command() + ": the control-plane API did not answer: " + e);
            return 3;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** The API client, or null (after saying why) when no URL is known. */
    private Client client(Args a) throws IOException {
        return client(a.api(), a.dataDir());
    }

    /** Whether an API is known for these options without asking it (--api, the environment, or the file `up` writes). */
    static boolean apiKnown(String api, Path dataDir, Map<String, String> env) {
        return api != null || (env.get(URL_ENV) != null && !env.get(URL_ENV).isBlank())
                || Files.isRegularFile(dataDir.resolve(URL_FILE));
    }

    /** The API client, or null (after saying why) when no URL is known. */
    Client client(String api, Path dataDir) throws IOException {
        String url = api != null ? api : env.get(URL_ENV);
        Path urlFile = dataDir.resolve(URL_FILE);
        if (url == null && Files.isRegularFile(urlFile)) {
            url = Files.readString(urlFile).trim();
        }
        if (url == null || url.isBlank()) {
            err.println("strata: no control-plane API known: give --api URL or " + URL_ENV + " (or run one that writes "
                    + urlFile + ")");
            return null;
        }
        URI base;
        try {
            base = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
            if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme())) {
                throw new IllegalArgumentException("not http(s)");
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException("--api: not an http(s) URL: '" + url + "'");
        }
        String token = env.get(TOKEN_ENV);
        Path tokenFile = dataDir.resolve("auth").resolve(TOKEN_FILE);
        if ((token == null || token.isBlank()) && Files.isRegularFile(tokenFile)) {
            token = Files.readString(tokenFile).trim();
        }
        return new Client(base, token == null ? "" : token.trim());
    }

    record Client(URI base, String token) {
        private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();

        HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) {
                b.header("Content-Type", "application/json");
            }
            if (!token.isEmpty()) {
                b.header(BearerToken.HEADER, BearerToken.headerValue(token));
            }
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    private int list(Client c, Args a, String path, List<String> columns) throws IOException, InterruptedException {
        HttpResponse<String> r = c.send("GET", path, null);
        if (r.statusCode() != 200) {
            return refused(r);
        }
        JsonNode rows = JSON.readTree(r.body());
        if (a.json()) {
            out.println(rows.toString());
            return 0;
        }
        printTable(rows, columns);
        return 0;
    }

    /** The rows as a table with the columns' names upper-cased as its header; "-" for a missing value. */
    void printTable(JsonNode rows, List<String> columns) {
        List<List<String>> table = new ArrayList<>();
        table.add(columns.stream().map(s -> s.toUpperCase(java.util.Locale.ROOT)).toList());
        for (JsonNode row : rows) {
            table.add(columns.stream().map(col -> row.hasNonNull(col) ? oneLine(row.get(col).asText()) : "-").toList());
        }
        int[] widths = new int[columns.size()];
        for (List<String> row : table) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : table) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + widths[i] + "s  ", row.get(i)));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** Sends a mutation (202 + operation) and, unless --no-wait, follows the operation to its end. */
    private int mutate(Client c, Args a, String method, String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = c.send(method, path, body);
        if (r.statusCode() != 202) {
            return refused(r);
        }
        Followed f = follow(c, JSON.readTree(r.body()), a.json(), a.follow(), a.timeout());
        if (a.json() && f.op() != null) {
            out.println(f.op().toString());
        }
        return f.exit();
    }

    /**
     * How following an operation ended: its exit code (0 succeeded or not waited for; 1 failed, timed
     * out or the poll was refused) and the operation as last read (null if a poll was refused).
     */
    record Followed(int exit, JsonNode op) {
        boolean succeeded() {
            return exit == 0 && op != null && op.path("state").asText().equals("SUCCEEDED");
        }
    }

    /**
     * Prints the operation's state (to stderr with {@code json}, else stdout) and, if {@code wait},
     * polls it every {@link #POLL} until it ends or {@code timeout} passes, printing each new state.
     * A failed operation's error goes to stderr.
     */
    Followed follow(Client c, JsonNode op, boolean json, boolean wait, Duration timeout)
            throws IOException, InterruptedException {
        String id = op.path("id").asText();
        PrintStream progress = json ? err : out;
        progress.println(now() + "  operation " + id + " " + op.path("kind").asText() + ": " + op.path("state").asText());
        progress.flush();
        if (!wait) {
            return new Followed(0, op);
        }
        String state = op.path("state").asText();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!state.equals("SUCCEEDED") && !state.equals("FAILED")) {
            if (System.nanoTime() > deadline) {
                err.println("strata: operation " + id + " is still " + state + " after " + timeout.toSeconds()
                        + " s; follow it with `strata operation show " + id + "`");
                return new Followed(1, op);
            }
            Thread.sleep(POLL.toMillis());
            HttpResponse<String> p = c.send("GET", "/v1/operations/" + q(id), null);
            if (p.statusCode() != 200) {
                return new Followed(refused(p), null);
            }
            op = JSON.readTree(p.body());
            String next = op.path("state").asText();
            if (!next.equals(state)) {
                progress.println(now() + "  operation " + id + ": " + next
                        + (op.hasNonNull("executionArn") && state.equals("SCHEDULED") ? " (" + op.get("executionArn").asText() + ")" : ""));
                progress.flush();
                state = next;
            }
        }
        if (state.equals("FAILED")) {
            err.println("strata: operation " + id + " failed: " + readableError(op.path("error").asText("(no error recorded)")));
            return new Followed(1, op);
        }
        return new Followed(0, op);
    }

    /**
     * An operation's error as a person reads it: a step's failure is recorded as the task's error
     * document ({@code SomeException: {"errorMessage": ..., "errorType": ...}}); its message is shown.
     */
    static String readableError(String error) {
        int brace = error.indexOf('{');
        if (brace >= 0) {
            try {
                JsonNode doc = JSON.readTree(error.substring(brace));
                if (doc != null && doc.hasNonNull("errorMessage")) {
                    return doc.get("errorMessage").asText();
                }
            } catch (IOException notJson) {
                // shown as recorded
            }
        }
        return error;
    }

    private void printOperation(JsonNode op) {
        for (String f : List.of("id", "kind", "state", "project", "branch", "endpoint", "executionArn", "createdAt",
                "updatedAt", "error")) {
            if (op.hasNonNull(f)) {
                out.printf("%-13s %s%n", f + ":", op.get(f).asText());
            }
        }
    }

    int refused(HttpResponse<String> r) {
        String message = r.body();
        try {
            JsonNode e = JSON.readTree(r.body());
            if (e != null && e.hasNonNull("message")) {
                message = e.path("error").asText() + ": " + e.get("message").asText();
            }
        } catch (IOException notJson) {
            // shown as it came
        }
        err.println("strata: the API answered " + r.statusCode() + ": " + oneLine(Objects.toString(message, "")));
        return 1;
    }

    private String now() {
        return LocalTime.now(clock).format(CLOCK);
    }

    private static String oneLine(String s) {
        return s.replaceAll("[\\r\\n\\t]+", " ");
    }

    static String q(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
