package dev.strata.cli;

import dev.strata.pgcore.id.ProjectId;
import dev.strata.cli.local.AdminServer;
import dev.strata.cli.local.BranchAdmin;
import dev.strata.control.storage.BranchTarget;
import dev.strata.cli.local.ClusterJvm;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.PrivateFiles;
import dev.strata.cli.verify.VerifyCommand;
import dev.strata.pgcore.auth.BearerToken;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The {@code strata} command (run through the {@code ./strata} script, which builds first).
 *
 * <pre>
 * strata up [--data-dir DIR] [--detach] [--proxy-port N] [--child-processes]
 * strata status [--data-dir DIR]
 * strata down [--data-dir DIR]
 * strata branch create NAME [--parent P] [--at LSN|TIME]                 (the control-plane API when
 * strata branch list                                                       `up` runs it, {@link BranchCommands};
 * strata branch delete NAME                                                else, or with --no-control-plane,
 * strata restore BRANCH --to LSN|TIME [--from SOURCE]                      the cluster's admin port)
 * strata restore BRANCH --from SOURCE [--to LSN|TIME]
 * strata connect BRANCH
 *   common: [--json] [--data-dir DIR] [--api URL] [--no-wait] [--timeout SECONDS] [--no-control-plane]
 * strata verify [--branch NAME] [--at LSN|now] [--relation OID...] [--json] [--data-dir DIR]   ({@link VerifyCommand})
 * strata project list | create NAME [--id ID] | delete ID              (the control-plane API:
 * strata endpoint list --project ID | start ID | suspend ID              {@link ApiCommands})
 * strata operation list --project ID | show ID
 * </pre>
 *
 * Exit codes: 0 ok, 1 failed, 64 usage.
 */
public final class StrataCli {

    private static final String LOG_FILE_PROPERTY = "org.slf4j.simpleLogger.logFile";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(20);
    /** How long `down` waits for the cluster's process to exit. */
    private static final Duration DOWN_WAIT = Duration.ofSeconds(180);
    private final PrintStream out;
    private final PrintStream err;
    private final Duration statusTimeout;

    StrataCli(PrintStream out, PrintStream err) {
        this(out, err, STATUS_TIMEOUT);
    }

    /** @param statusTimeout how long `status` waits for the cluster's report (tests shorten it) */
    StrataCli(PrintStream out, PrintStream err, Duration statusTimeout) {
        this.out = out;
        this.err = err;
        this.statusTimeout = statusTimeout;
    }

    public static void main(String[] args) {
        System.exit(new StrataCli(System.out, System.err).run(args));
    }

    /**
     * Parsed arguments.
     *
     * @param childProcesses `up` runs the safekeepers and the pageserver as their own JVMs (pids in
     *                       `strata status`), so that one can be paused (SIGSTOP), slowed or
     *                       killed on its own, as bench/throttled-copy.sh does
     * @param controlPlane   `up` runs the control plane and the main endpoint's compute is woken and
     *                       suspended by its workflows (default; `--no-control-plane`: the cluster
     *                       starts the compute itself, decision 0029)
     */
    record Args(String command, Path dataDir, boolean detach, boolean daemon, int proxyPort, boolean childProcesses,
                boolean controlPlane) {
        Args(String command, Path dataDir, boolean detach, boolean daemon, int proxyPort, boolean childProcesses) {
            this(command, dataDir, detach, daemon, proxyPort, childProcesses, true);
        }
    }

    /**
     * A branch command: {@code branch create|list|delete}, {@code restore}, {@code connect}.
     *
     * @param action create, list, delete, restore or connect
     * @param name   the branch acted on (null for list)
     * @param parent create: the branch to make it from (null: main)
     * @param point  create: where (null: the parent's head); restore: the point (null: the source's head)
     * @param source restore: the branch whose history to restore from (null: the branch itself)
     * @param controlPlane false with {@code --no-control-plane}: the cluster's admin port, not the API
     * @param api     {@code --api URL} (null: {@code STRATA_API_URL} or the file {@code up} writes)
     * @param follow  false with {@code --no-wait}: print the operation, do not wait for it
     * @param timeout how long to wait for the operation
     * @param project {@code --project ID}: the project whose branches these are (default: the
     *                cluster's own, {@value BranchCommands#PROJECT}; another only through the API)
     */
    record BranchArgs(String action, Path dataDir, String name, String parent, BranchTarget point, String source,
                      boolean json, boolean controlPlane, String api, boolean follow, Duration timeout,
                      ProjectId project) {
        BranchArgs(String action, Path dataDir, String name, String parent, BranchTarget point, String source,
                   boolean json) {
            this(action, dataDir, name, parent, point, source, json, true, null, true, ApiCommands.DEFAULT_TIMEOUT,
                    ProjectId.of(BranchCommands.PROJECT));
        }
    }

    static final String BRANCH_USAGE = "strata branch create NAME [--parent P] [--at LSN|TIME] | branch list | "
            + "branch delete NAME | restore BRANCH --to LSN|TIME [--from SOURCE] | connect BRANCH   [--json] "
            + "[--project ID] [--data-dir DIR] [--api URL] [--no-wait] [--timeout SECONDS] [--no-control-plane]\n"
            + "       (through the control-plane API that `strata up` runs; with --no-control-plane, or when the "
            + "cluster runs without it (`up --no-control-plane`), through the cluster's admin port, where --json is "
            + "for branch list only and --api, --no-wait, --timeout do not apply)";

    static BranchArgs parseBranch(String[] args, Clock clock) {
        String command = args[0];
        int i = 1;
        String action;
        if (command.equals("branch")) {
            if (args.length < 2) {
                throw new UsageException("branch needs an action: create, list or delete");
            }
            action = args[1];
            if (!List.of("create", "list", "delete").contains(action)) {
                throw new UsageException("unknown branch action '" + action + "' (create, list or delete)");
            }
            i = 2;
        } else {
            action = command;
        }
        Path dataDir = Path.of(System.getenv().getOrDefault("STRATA_DATA_DIR", ".strata"));
        String name = null;
        String parent = null;
        BranchTarget point = null;
        String source = null;
        boolean json = false;
        boolean controlPlane = true;
        String api = null;
        boolean follow = true;
        Duration timeout = ApiCommands.DEFAULT_TIMEOUT;
        ProjectId project = null;
        for (; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = true;
                case "--project" -> {
                    String v = value(args, ++i, "--project");
                    try {
                        project = ProjectId.of(v);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--project: " + e.getMessage());
                    }
                }
                case "--no-control-plane" -> controlPlane = false;
                case "--api" -> api = value(args, ++i, "--api");
                case "--no-wait" -> follow = false;
                case "--timeout" -> {
                    String v = value(args, ++i, "--timeout");
                    try {
                        long sec = Long.parseLong(v);
                        if (sec < 1 || sec > 86_400) {
                            throw new NumberFormatException();
                        }
                        timeout = Duration.ofSeconds(sec);
                    } catch (NumberFormatException e) {
                        throw new UsageException("--timeout takes 1 to 86400 seconds, got '" + v + "'");
                    }
                }
                case "--data-dir" -> dataDir = Path.of(value(args, ++i, "--data-dir"));
                case "--parent" -> parent = onlyFor(action, "create", "--parent", value(args, ++i, "--parent"));
                case "--at" -> point = parsePoint(onlyFor(action, "create", "--at", value(args, ++i, "--at")), clock);
                case "--to" -> point = parsePoint(onlyFor(action, "restore", "--to", value(args, ++i, "--to")), clock);
                case "--from" -> source = onlyFor(action, "restore", "--from", value(args, ++i, "--from"));
                default -> {
                    if (args[i].startsWith("-")) {
                        throw new UsageException("unknown option '" + args[i] + "' for " + command);
                    }
                    if (name != null || action.equals("list")) {
                        throw new UsageException("unexpected argument '" + args[i] + "'");
                    }
                    name = args[i];
                }
            }
        }
        if (name == null && !action.equals("list")) {
            throw new UsageException(action + " needs a branch name");
        }
        if (action.equals("restore") && point == null && source == null) {
            throw new UsageException("restore needs --to LSN|TIME (or --from SOURCE to restore another branch's state)");
        }
        if (!controlPlane && api != null) {
            throw new UsageException("--api and --no-control-plane exclude each other");
        }
        if (!controlPlane && project != null) {
            throw new UsageException("--project needs the control-plane API; the cluster's admin port "
                    + "(--no-control-plane) serves its own project only");
        }
        return new BranchArgs(action, dataDir, name, parent, point, source, json, controlPlane, api, follow, timeout,
                project == null ? ProjectId.of(BranchCommands.PROJECT) : project);
    }

    private static String onlyFor(String action, String allowed, String option, String value) {
        if (!action.equals(allowed)) {
            throw new UsageException(option + " is an option of " + allowed + ", not of " + action);
        }
        return value;
    }

    private static BranchTarget parsePoint(String text, Clock clock) {
        try {
            return BranchTarget.parse(text, clock);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static Args parse(String[] args) {
        if (args.length == 0) {
            throw new UsageException("no command given");
        }
        String command = args[0];
        Path dataDir = Path.of(System.getenv().getOrDefault("STRATA_DATA_DIR", ".strata"));
        boolean detach = false;
        boolean daemon = false;
        boolean childProcesses = false;
        boolean controlPlane = true;
        int proxyPort = LocalCluster.Options.DEFAULTS.proxyPort();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--data-dir" -> dataDir = Path.of(value(args, ++i, "--data-dir"));
                case "--detach", "-d" -> detach = true;
                case "--daemon" -> daemon = true; // internal: the detached cluster process
                case "--child-processes" -> childProcesses = true;
                case "--no-control-plane" -> controlPlane = false;
                case "--proxy-port" -> {
                    String v = value(args, ++i, "--proxy-port");
                    try {
                        proxyPort = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new UsageException("--proxy-port takes a port number, got '" + v + "'");
                    }
                    if (proxyPort < 1 || proxyPort > 65535) {
                        throw new UsageException("--proxy-port " + proxyPort + " is not a TCP port");
                    }
                }
                default -> throw new UsageException("unknown option '" + args[i] + "' for " + command);
            }
        }
        if (!List.of("up", "status", "down").contains(command)) {
            throw new UsageException("unknown command '" + command + "'");
        }
        return new Args(command, dataDir, detach, daemon, proxyPort, childProcesses, controlPlane);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    int run(String[] argv) {
        if (argv.length > 0 && ApiCommands.COMMANDS.contains(argv[0])) {
            return new ApiCommands(out, err, System.getenv(), Clock.systemDefaultZone()).run(argv);
        }
        if (argv.length > 0 && argv[0].equals("verify")) {
            return new VerifyCommand(out, err).run(argv);
        }
        if (argv.length > 0 && List.of("branch", "restore", "connect").contains(argv[0])) {
            return runBranch(argv);
        }
        Args args;
        try {
            args = parse(argv);
        } catch (UsageException e) {
            err.println("strata: " + e.getMessage());
            err.println("usage: strata up [--data-dir DIR] [--detach] [--proxy-port N] [--child-processes] | status [--data-dir DIR] "
                    + "| down [--data-dir DIR]");
            err.println("       " + BRANCH_USAGE);
            err.println("       " + VerifyCommand.USAGE);
            err.println("       " + ApiCommands.USAGE);
            return 64;
        }
        ClusterLayout layout = new ClusterLayout(args.dataDir());
        if (args.command().equals("up") && System.getProperty(LOG_FILE_PROPERTY) == null) {
            // Components log to a file; the terminal shows progress and the connection string.
            try {
                PrivateFiles.createRoot(layout.root());
                // The log may show connection details: created for the owner only.
                if (!Files.exists(layout.logFile())) {
                    PrivateFiles.createEmptyPrivateFile(layout.logFile());
                }
            } catch (IOException e) {
                err.println("strata up: cannot create the data directory " + layout.root() + ": " + e.getMessage());
                return 1;
            }
            System.setProperty(LOG_FILE_PROPERTY, layout.logFile().toString());
        }
        try {
            return switch (args.command()) {
                case "up" -> args.detach() && !args.daemon() ? upDetached(layout, argv) : up(layout, args);
                case "status" -> status(layout);
                case "down" -> down(layout);
                default -> throw new IllegalStateException(args.command());
            };
        } catch (RuntimeException | IOException e) {
            err.println("strata " + args.command() + ": " + e.getMessage());
            err.println("(logs: " + layout.logFile() + ")");
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private int runBranch(String[] argv) {
        BranchArgs a;
        try {
            a = parseBranch(argv, Clock.systemDefaultZone());
        } catch (UsageException e) {
            err.println("strata: " + e.getMessage());
            err.println("usage: " + BRANCH_USAGE);
            return 64;
        }
        if (a.controlPlane() && ApiCommands.apiKnown(a.api(), a.dataDir(), System.getenv())) {
            return new BranchCommands(out, err, System.getenv(), Clock.systemDefaultZone()).run(a);
        }
        if (a.json() && !a.action().equals("list")) {
            err.println("strata: --json is for branch list only on the cluster's admin port (no control-plane API: "
                    + a.dataDir().resolve(ApiCommands.URL_FILE) + " is absent)");
            return 64;
        }
        ClusterLayout layout = new ClusterLayout(a.dataDir());
        try {
            AdminCall call = switch (a.action()) {
                case "list" -> new AdminCall("GET", a.json() ? "/branches?format=json" : "/branches");
                case "create" -> new AdminCall("POST", "/branches?name=" + q(a.name())
                        + (a.parent() == null ? "" : "&parent=" + q(a.parent()))
                        + (a.point() == null ? "" : "&at=" + q(a.point().toString())));
                case "delete" -> new AdminCall("DELETE", "/branches/" + q(a.name()));
                case "restore" -> new AdminCall("POST", "/branches/" + q(a.name()) + "/restore?to="
                        + q(a.point() == null ? "head" : a.point().toString())
                        + (a.source() == null ? "" : "&from=" + q(a.source())));
                case "connect" -> new AdminCall("GET", "/branches/" + q(a.name()) + "/connection");
                default -> throw new IllegalStateException(a.action());
            };
            if (a.action().equals("create") || a.action().equals("restore")) {
                step((a.action().equals("create") ? "creating branch '" : "restoring branch '") + a.name() + "'");
            }
            return admin(layout, call, a.action().equals("restore") ? Duration.ofMinutes(5) : Duration.ofMinutes(2));
        } catch (IOException | RuntimeException e) {
            err.println("strata " + argv[0] + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private record AdminCall(String method, String path) {
    }

    private static String q(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Sends one branch request to the running cluster and prints its answer; 0 on success. */
    private int admin(ClusterLayout layout, AdminCall call, Duration timeout) throws IOException, InterruptedException {
        Integer port = layout.adminPort();
        if (port == null) {
            err.println("strata: no cluster is running in " + layout.root() + " (start it with `./strata up`)");
            return 3;
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r;
        try {
            r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + call.path()))
                    .header(BearerToken.HEADER, BearerToken.headerValue(layout.adminToken()))
                    .method(call.method(), HttpRequest.BodyPublishers.noBody()).timeout(timeout).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            err.println("strata: the cluster did not answer within " + timeout.toSeconds() + " s; see " + layout.logFile());
            return 1;
        } catch (IOException e) {
            err.println("strata: no cluster is running in " + layout.root() + " (stale admin port; `./strata up` starts it)");
            return 3;
        }
        if (r.statusCode() / 100 == 2) {
            out.print(r.body());
            out.flush();
            return 0;
        }
        err.print("strata: " + r.body());
        if (!r.body().endsWith("\n")) {
            err.println();
        }
        return 1;
    }

    private void step(String message) {
        out.println(LocalTime.now().format(CLOCK) + "  " + message);
        out.flush();
    }

    /**
     * Moves the last run's log to {@code strata.log.1} before this run's components open
     * {@code strata.log} (they truncate it): after a crash, the restart must not erase the log of
     * what crashed. Called with the cluster's lock held, so no running cluster writes to it, and
     * before the first logger exists. One generation is kept; an empty log is left alone.
     */
    static void keepPreviousLog(ClusterLayout layout) throws IOException {
        Path log = layout.logFile();
        if (Files.exists(log) && Files.size(log) > 0) {
            Files.move(log, layout.previousLogFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            PrivateFiles.createEmptyPrivateFile(log);
        }
    }

    /** Runs the cluster in this process until Ctrl-C or `strata down`. */
    private int up(ClusterLayout layout, Args args) throws IOException, InterruptedException {
        PrivateFiles.createRoot(layout.root());
        PrivateFiles.createPrivateDirectory(layout.runDir());
        try (FileChannel lockChannel = FileChannel.open(layout.lockFile(), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock lock = lockChannel.tryLock()) {
            if (lock == null) {
                String pid = Files.exists(layout.pidFile()) ? Files.readString(layout.pidFile()).trim() : "?";
                err.println("strata up: the cluster in " + layout.root() + " is already running (pid " + pid
                        + "); see `./strata status`, or `./strata down` to stop it");
                return 1;
            }
            Files.deleteIfExists(layout.readyFile());
            keepPreviousLog(layout);
            PrivateFiles.writeSecret(layout.pidFile(), Long.toString(ProcessHandle.current().pid()));
            step("starting the local cluster in " + layout.root() + " (logs: " + layout.logFile() + ")");
            CountDownLatch stopped = new CountDownLatch(1);
            LocalCluster cluster = LocalCluster.start(layout, new LocalCluster.Options(args.proxyPort(), args.childProcesses(),
                    LocalCluster.Options.DEFAULTS.idleTimeout()).withControlPlane(args.controlPlane()),
                    this::step);
            Thread hook = new Thread(() -> {
                cluster.close();
                stopped.countDown();
            }, "strata-shutdown");
            // the operator's token for `status` and `down` from other shells (mode 600)
            cluster.auth().writeAdminToken();
            try (AdminServer admin = new AdminServer(cluster.auth().verifier(), cluster::statusReport, () -> {
                step("stopping (strata down)");
                cluster.close();
                stopped.countDown();
            }, new BranchAdmin(cluster))) {
                PrivateFiles.writeSecret(layout.adminPortFile(), Integer.toString(admin.port()));
                Runtime.getRuntime().addShutdownHook(hook);
                String uri = cluster.connectionString();
                // holds the password: mode 600 from its first byte, and whole or absent
                PrivateFiles.writeSecret(layout.readyFile(), uri + "\n");
                cluster.controlPlane().ifPresent(cp -> step("control-plane API " + cp.apiUrl()
                        + " (`./strata operation list --project " + LocalCluster.PROJECT + "` shows its operations)"));
                step("ready. Stop with Ctrl-C or `./strata down`; `./strata status` shows each component. Connect with:");
                out.println(uri);
                out.flush();
                stopped.await();
                step("stopped; data kept in " + layout.root());
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it stops the cluster
                }
                Files.deleteIfExists(layout.adminPortFile());
                Files.deleteIfExists(layout.readyFile());
                Files.deleteIfExists(layout.pidFile());
            }
        }
        return 0;
    }

    /** Starts the cluster as a background process and returns once it answers queries. */
    private int upDetached(ClusterLayout layout, String[] argv) throws IOException, InterruptedException {
        PrivateFiles.createRoot(layout.root());
        PrivateFiles.createPrivateDirectory(layout.runDir());
        if (Files.exists(layout.readyFile()) && layout.adminPort() != null && get(layout, "/status") != null) {
            step("already running");
            out.println(Files.readString(layout.readyFile()).trim());
            return 0;
        }
        Files.deleteIfExists(layout.readyFile());
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(ClusterJvm.memoryFlags()); // the cluster's one JVM is bounded (docs/local-cluster.md)
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("-Dorg.slf4j.simpleLogger.logFile=" + layout.logFile());
        cmd.add(StrataCli.class.getName());
        for (String a : argv) {
            if (!a.equals("--detach") && !a.equals("-d")) {
                cmd.add(a);
            }
        }
        cmd.add("--daemon");
        // The daemon prints the connection string (with its password) here: owner only, made
        // before the process opens it (a redirect to an existing file keeps its mode).
        Path daemonOut = PrivateFiles.createEmptyPrivateFile(layout.runDir().resolve("daemon.out"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(daemonOut.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        long shown = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline) {
            shown = echoNewLines(daemonOut, shown);
            if (Files.exists(layout.readyFile())) {
                echoNewLines(daemonOut, shown);
                return 0;
            }
            if (!p.isAlive()) {
                echoNewLines(daemonOut, shown);
                err.println("strata up: the cluster process exited with code " + p.exitValue());
                return 1;
            }
            Thread.sleep(200);
        }
        err.println("strata up: the cluster did not become ready within 5 minutes; it keeps trying in the "
                + "background (pid " + p.pid() + "); see " + layout.logFile());
        return 1;
    }

    private long echoNewLines(Path file, long from) throws IOException {
        if (!Files.exists(file)) {
            return from;
        }
        byte[] all = Files.readAllBytes(file);
        int end = all.length;
        while (end > from && all[end - 1] != '\n') {
            end--;
        }
        if (end > from) {
            out.print(new String(all, (int) from, (int) (end - from), StandardCharsets.UTF_8));
            out.flush();
            return end;
        }
        return from;
    }

    private int status(ClusterLayout layout) throws IOException, InterruptedException {
        String body;
        try {
            body = layout.adminPort() == null ? null : get(layout, "/status", statusTimeout);
        } catch (HttpTimeoutException e) {
            // The admin port took the request: the cluster runs, but its report did not come
            // (a component paused or overloaded). "not running" here misled scripts that poll.
            out.println("running, but its status did not answer within " + statusTimeout.toSeconds()
                    + " s (a component may be paused or overloaded; see " + layout.logFile() + ")");
            return 1;
        }
        if (body == null) {
            out.println("not running" + (Files.exists(layout.stateFile()) ? " (data kept in " + layout.root()
                    + "; `./strata up` starts it)" : " (no cluster in " + layout.root() + ")"));
            return 3;
        }
        out.print(body);
        return 0;
    }

    private int down(ClusterLayout layout) throws IOException, InterruptedException {
        Integer port = layout.adminPort();
        if (port == null) {
            out.println("not running");
            return 0;
        }
        Long pid = Files.exists(layout.pidFile()) ? Long.parseLong(Files.readString(layout.pidFile()).trim()) : null;
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/down"))
                    .header(BearerToken.HEADER, BearerToken.headerValue(layout.adminToken()))
                    .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 401 || r.statusCode() == 403) {
                err.println("strata down: the cluster refused the operator token in " + layout.authDir()
                        + ": " + r.body().trim());
                return 1;
            }
        } catch (IOException e) {
            out.println("not running (stale admin port)");
            Files.deleteIfExists(layout.adminPortFile());
            return 0;
        }
        step("stopping the cluster in " + layout.root());
        if (pid != null) {
            ProcessHandle h = ProcessHandle.of(pid).orElse(null);
            // the cluster first suspends its running endpoints through the workflows (at most 60 s)
            long deadline = System.nanoTime() + DOWN_WAIT.toNanos();
            while (h != null && h.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            if (h != null && h.isAlive()) {
                err.println("strata down: pid " + pid + " still running after " + DOWN_WAIT.toSeconds() + " s");
                return 1;
            }
        }
        step("stopped; data kept in " + layout.root());
        return 0;
    }



    private static String get(ClusterLayout layout, String path) throws IOException, InterruptedException {
        try {
            return get(layout, path, STATUS_TIMEOUT);
        } catch (HttpTimeoutException e) {
            return null;
        }
    }

    /**
     * The admin port's answer, or null if nothing listens there (or it refused); throws
     * {@link HttpTimeoutException} if it took the request and did not answer in time.
     */
    private static String get(ClusterLayout layout, String path, Duration timeout)
            throws IOException, InterruptedException {
        Integer port = layout.adminPort();
        if (port == null) {
            return null;
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header(BearerToken.HEADER, BearerToken.headerValue(layout.adminToken()))
                    .timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (HttpTimeoutException e) {
            throw e;
        } catch (IOException e) {
            return null;
        }
    }

    /** A command line the CLI does not understand. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
