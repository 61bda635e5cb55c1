package dev.strata.cli.verify;

import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.PrivateFiles;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code strata verify [--branch NAME] [--at LSN|now] [--relation OID...] [--json] [--data-dir DIR]}: the stock-standby oracle ({@link StandbyOracle#fromHistory}) on a branch of the
 * running local cluster. It asks the cluster for the branch's timeline, safekeepers and page
 * service (admin port, operator token; no compute is started), starts a stock PostgreSQL 17
 * standby in a private directory under {@code run/} from the pageserver's basebackup at a compute
 * start (the base: the branch's first, so the whole history of its timeline is re-derived), lets
 * PostgreSQL's own redo replay the
 * branch's WAL from the safekeepers up to the chosen LSN ({@code --at}, default the committed
 * head), and compares every block (or those of the chosen relations) with the page the
 * pageserver serves at that LSN. It prints progress (to stderr), what it checked and every mismatch; the
 * standby and its directory are removed on every way out, Ctrl-C included.
 *
 * <p>Exit codes: 0 no mismatch, 1 mismatches found, 2 could not verify (bad LSN, unknown
 * branch or relation, a component failed), 3 no cluster running, 64 usage.
 */
public final class VerifyCommand {

    public static final String USAGE = "strata verify [--branch NAME] [--at LSN|now] [--relation OID...] [--json] "
            + "[--data-dir DIR]";
    static final int MISMATCHES = 1;
    static final int FAILED = 2;
    static final int NOT_RUNNING = 3;
    static final int USAGE_ERROR = 64;
    private static final Duration TARGET_TIMEOUT = Duration.ofMinutes(3);
    /** Replay of the history from the base, then the comparison. */
    private static final Duration COMPARE_TIMEOUT = Duration.ofMinutes(60);
    private static final long PROGRESS_EVERY_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final String LOG_FILE_PROPERTY = "org.slf4j.simpleLogger.logFile";

    /** Parsed arguments; {@code at} null means now (the committed head when verify starts). */
    record Args(Path dataDir, String branch, Lsn at, Set<Long> relations, boolean json) {
    }

    private final PrintStream out;
    private final PrintStream err;
    private final UnaryOperator<Lsn> pageserverLsn;

    public VerifyCommand(PrintStream out, PrintStream err) {
        this(out, err, UnaryOperator.identity());
    }

    /** Tests: {@code pageserverLsn} reads the pageserver at another LSN than the standby's (a fault only a test injects). */
    VerifyCommand(PrintStream out, PrintStream err, UnaryOperator<Lsn> pageserverLsn) {
        this.out = out;
        this.err = err;
        this.pageserverLsn = pageserverLsn;
    }

    static Args parse(String[] args, Map<String, String> env) {
        Path dataDir = Path.of(env.getOrDefault("STRATA_DATA_DIR", ".strata"));
        String branch = LocalCluster.BRANCH;
        Lsn at = null;
        Set<Long> relations = new LinkedHashSet<>();
        boolean json = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--data-dir" -> dataDir = Path.of(value(args, ++i, "--data-dir"));
                case "--branch" -> branch = value(args, ++i, "--branch");
                case "--json" -> json = true;
                case "--at" -> {
                    String v = value(args, ++i, "--at");
                    if (v.equals("now")) {
                        at = null;
                    } else {
                        try {
                            at = Lsn.parse(v);
                        } catch (IllegalArgumentException e) {
                            throw new UsageException("--at takes an LSN such as 0/16B3748, or now; got '" + v + "'");
                        }
                    }
                }
                case "--relation" -> {
                    int before = relations.size();
                    while (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                        String v = args[++i];
                        try {
                            long oid = Long.parseLong(v);
                            if (oid <= 0 || oid > 0xFFFFFFFFL) {
                                throw new NumberFormatException();
                            }
                            relations.add(oid);
                        } catch (NumberFormatException e) {
                            throw new UsageException("--relation takes relation OIDs (pg_class.oid), got '" + v + "'");
                        }
                    }
                    if (relations.size() == before && before == 0) {
                        throw new UsageException("--relation needs at least one OID");
                    }
                }
                default -> throw new UsageException("unknown option '" + args[i] + "' for verify");
            }
        }
        return new Args(dataDir, branch, at, relations, json);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    public int run(String[] argv) {
        Args a;
        try {
            a = parse(argv, System.getenv());
        } catch (UsageException e) {
            err.println("strata verify: " + e.getMessage());
            err.println("usage: " + USAGE);
            return USAGE_ERROR;
        }
        return run(a);
    }

    int run(Args a) {
        ClusterLayout layout = new ClusterLayout(a.dataDir());
        if (System.getProperty(LOG_FILE_PROPERTY) == null && Files.exists(layout.logFile())) {
            // as `up`: the terminal shows progress and the result, the log goes to the cluster's log
            System.setProperty(LOG_FILE_PROPERTY, layout.logFile().toString());
        }
        VerifyTarget target;
        try {
            Integer port = layout.adminPort();
            if (port == null) {
                err.println("strata verify: no cluster is running in " + layout.root() + " (start it with `./strata up`)");
                return NOT_RUNNING;
            }
            HttpResponse<String> r;
            try {
                r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5)).build().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/branches/"
                                + URLEncoder.encode(a.branch(), StandardCharsets.UTF_8) + "/verify-target"))
                        .header(BearerToken.HEADER, BearerToken.headerValue(layout.adminToken()))
                        .timeout(TARGET_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            } catch (HttpTimeoutException e) {
                err.println("strata verify: the cluster did not answer within " + TARGET_TIMEOUT.toSeconds()
                        + " s; see " + layout.logFile());
                return FAILED;
            } catch (IOException e) {
                err.println("strata verify: no cluster is running in " + layout.root()
                        + " (stale admin port; `./strata up` starts it)");
                return NOT_RUNNING;
            }
            if (r.statusCode() != 200) {
                err.println("strata verify: " + r.body().trim());
                return FAILED;
            }
            target = VerifyTarget.parse(r.body());
        } catch (IOException | RuntimeException e) {
            err.println("strata verify: " + e.getMessage());
            return FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return FAILED;
        }
        return verify(layout, target, a);
    }

    private int verify(ClusterLayout layout, VerifyTarget target, Args a) {
        Lsn head = target.committed();
        Lsn stopAt = a.at() != null ? a.at() : head;
        if (stopAt.isAfter(head)) {
            err.println("strata verify: LSN " + stopAt + " is in the future: branch '" + target.branch()
                    + "' has committed WAL up to " + head);
            return FAILED;
        }
        Lsn base;
        try {
            base = base(target, stopAt);
        } catch (IllegalArgumentException e) {
            err.println("strata verify: " + e.getMessage());
            return FAILED;
        }
        Path dir;
        try {
            PrivateFiles.createPrivateDirectory(layout.runDir());
            dir = Files.createTempDirectory(layout.runDir(), "verify-");
        } catch (IOException e) {
            err.println("strata verify: cannot make a directory for the standby in " + layout.runDir() + ": "
                    + e.getMessage());
            return FAILED;
        }
        AtomicReference<StandbyOracle> oracle = new AtomicReference<>();
        AtomicBoolean cancelled = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        // Ctrl-C: the download or comparison stops at its next step, a standby still starting is
        // stopped through its pid file, and this thread's own clean-up below runs; the hook
        // waits for it (the JVM halts once its hooks end), then cleans up itself in case.
        Thread cleanup = new Thread(() -> {
            cancelled.set(true);
            if (oracle.get() == null) {
                stopPostmaster(dir.resolve("standby").resolve("postmaster.pid"));
            }
            try {
                finished.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cleanUp(oracle, dir);
        }, "strata-verify-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            progress(a, "branch '" + target.branch() + "' (timeline " + target.timeline() + "): a stock PostgreSQL 17 "
                    + "standby from the pageserver's basebackup at " + base + " (its first compute start), replaying the WAL "
                    + "to " + stopAt + " (" + mib(stopAt.value() - base.value()) + ") in " + dir);
            oracle.set(StandbyOracle.fromHistory(target, base, stopAt, stopAt.equals(head), dir, cancelled::get));
            if (cancelled.get()) {
                return FAILED;
            }
            progress(a, "standby running; replaying from the safekeepers with PostgreSQL's redo");
            long[] last = {0, -1}; // when, and how many blocks, progress was last printed
            StandbyOracle.Result r = oracle.get().compareRecovered(a.relations(), COMPARE_TIMEOUT, lsn -> {
                long span = Math.max(1, stopAt.value() - base.value());
                long done = Math.max(0, Math.min(span, lsn.value() - base.value()));
                progress(a, "replayed up to " + lsn + " (" + (100 * done / span) + " %)");
            }, (done, total) -> {
                long now = System.nanoTime();
                if (done != last[1] && (done == total || now - last[0] >= PROGRESS_EVERY_NANOS)) {
                    last[0] = now;
                    last[1] = done;
                    progress(a, "compared " + done + " / " + total + " blocks");
                }
            }, pageserverLsn);
            print(a, target, base, r);
            return r.mismatches().isEmpty() ? 0 : MISMATCHES;
        } catch (IllegalArgumentException e) {
            err.println("strata verify: " + e.getMessage());
            return FAILED;
        } catch (Exception e) {
            if (cancelled.get()) {
                err.println("strata verify: cancelled; the standby is stopped and " + dir + " removed");
                return FAILED;
            }
            err.println("strata verify: failed: " + e.getMessage() + " (logs: " + layout.logFile() + ")");
            return FAILED;
        } finally {
            cleanUp(oracle, dir);
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs: it cleans up as well (cleanUp is idempotent)
            }
        }
    }

    /**
     * The standby's base: the branch's first compute start (the first entry of its timeline's term
     * history). A compute's first start is always from the pageserver's basebackup, whose
     * synthesized shutdown checkpoint the safekeepers' WAL holds there; a later start may have
     * reused the compute's own directory after a clean stop, and then the WAL holds another record
     * at the term's start, where no standby can begin. From the first start the whole of the
     * timeline's own history is re-derived.
     *
     * @throws IllegalArgumentException if no compute started yet, or {@code stopAt} is before that
     */
    static Lsn base(VerifyTarget target, Lsn stopAt) {
        List<Lsn> starts = target.termStarts().stream().filter(Lsn::isValid).sorted().toList();
        if (starts.isEmpty()) {
            throw new IllegalArgumentException("no compute has started on branch '" + target.branch()
                    + "' yet: it has no WAL of its own to verify");
        }
        if (stopAt.isBefore(starts.getFirst())) {
            throw new IllegalArgumentException("LSN " + stopAt + " is before the first compute start of branch '"
                    + target.branch() + "' (" + starts.getFirst() + "); history below it is the parent branch's: "
                    + "verify the parent at that LSN");
        }
        return starts.getFirst();
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB of WAL", bytes / (1024.0 * 1024.0));
    }

    private void progress(Args a, String message) {
        err.println(LocalTime.now().format(CLOCK) + "  " + message);
        err.flush();
    }

    private void print(Args a, VerifyTarget target, Lsn base, StandbyOracle.Result r) {
        if (a.json()) {
            StringBuilder j = new StringBuilder("{");
            j.append("\"branch\": ").append(q(target.branch()))
                    .append(", \"timeline\": ").append(q(target.timeline().toString()))
                    .append(", \"lsn\": ").append(q(r.lsn().toString()))
                    .append(", \"base\": ").append(q(base.toString()))
                    .append(", \"databases\": [").append(r.databases().stream().map(VerifyCommand::q)
                            .collect(Collectors.joining(", "))).append(']')
                    .append(", \"relations\": ").append(r.relations())
                    .append(", \"blocks\": ").append(r.blocks())
                    .append(", \"blocksByKind\": {").append(r.blocksByKind().entrySet().stream()
                            .map(e -> q(e.getKey()) + ": " + e.getValue()).collect(Collectors.joining(", ")))
                    .append("}, \"mismatches\": [");
            for (int i = 0; i < r.mismatches().size(); i++) {
                StandbyOracle.Mismatch m = r.mismatches().get(i);
                j.append(i == 0 ? "\n  {" : ",\n  {")
                        .append("\"database\": ").append(q(m.database()))
                        .append(", \"relation\": ").append(q(m.relation()))
                        .append(", \"oid\": ").append(m.oid())
                        .append(", \"fork\": ").append(q(m.fork()))
                        .append(", \"block\": ").append(m.block() < 0 ? "null" : Long.toString(m.block()))
                        .append(", \"offset\": ").append(m.offset() < 0 ? "null" : Integer.toString(m.offset()))
                        .append(", \"detail\": ").append(q(m.detail())).append('}');
            }
            j.append(r.mismatches().isEmpty() ? "]}" : "\n]}");
            out.println(j);
        } else {
            out.printf("verified branch '%s' (timeline %s) at %s, re-derived from %s: %d relations in %s, %d blocks %s%n",
                    target.branch(), target.timeline(), r.lsn(), base, r.relations(), r.databases(), r.blocks(),
                    r.blocksByKind());
            for (StandbyOracle.Mismatch m : r.mismatches()) {
                out.println("mismatch: " + m);
            }
            out.println(r.mismatches().size() + (r.mismatches().size() == 1 ? " mismatch" : " mismatches"));
        }
        out.flush();
    }

    /** Stops the standby (or, if Ctrl-C came while it started, its postmaster) and removes its directory. */
    private static synchronized void cleanUp(AtomicReference<StandbyOracle> oracle, Path dir) {
        StandbyOracle o = oracle.getAndSet(null);
        if (o != null) {
            o.close();
        } else {
            stopPostmaster(dir.resolve("standby").resolve("postmaster.pid"));
        }
        deleteTree(dir);
    }

    /** SIGINT (fast shutdown) to the postmaster a pid file names, SIGKILL after 30 s. */
    private static void stopPostmaster(Path pidFile) {
        try {
            if (!Files.exists(pidFile)) {
                return;
            }
            long pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().trim());
            ProcessHandle h = ProcessHandle.of(pid).orElse(null);
            if (h == null) {
                return;
            }
            new ProcessBuilder("kill", "-INT", Long.toString(pid)).start().waitFor(5, TimeUnit.SECONDS);
            if (!h.onExit().toCompletableFuture().completeOnTimeout(null, 30, TimeUnit.SECONDS).join().isAlive()) {
                return;
            }
            h.destroyForcibly();
        } catch (IOException | RuntimeException e) {
            // best effort: the directory goes anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | RuntimeException e) {
            // best effort; a later verify uses a new directory
        }
    }

    private static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> b.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return b.append('"').toString();
    }

    /** A command line verify does not understand. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
