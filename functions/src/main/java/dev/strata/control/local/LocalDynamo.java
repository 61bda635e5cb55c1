package dev.strata.control.local;

import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.pgcore.net.LoopbackPorts;
import dev.strata.pgcore.tools.NodeTools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * The local DynamoDB-compatible server: dynalite 4.0.0 on LevelDB (decision 0017), listening on
 * loopback, its data under {@code <dir>/db} and its output in {@code <dir>/dynalite.log}, so what
 * was written survives a restart on the same directory. {@link #close()} stops the process and
 * anything it started.
 *
 * <p>Its pid is kept in {@code <dir>/dynalite.pid}: a dynalite left running by a JVM that died
 * (kill -9: children outlive their parent) still holds the LevelDB lock, so the next start on
 * the same directory stops it first, if that pid is still a process whose command line names
 * this directory's {@code db} (a reused pid is left alone).
 *
 * <p>dynalite has no transactions; the metadata store never uses them (docs/control-plane.md).
 */
public final class LocalDynamo implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalDynamo.class);
    /** A loaded machine may take a while to start node; the wait is bounded, not timed. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    static final String PID_FILE = "dynalite.pid";

    private final Path dir;
    private final int port;
    private final Process process;
    private final DynamoDbClient client;

    private LocalDynamo(Path dir, int port, Process process, DynamoDbClient client) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.client = client;
    }

    /** Starts dynalite on a free loopback port with its data under {@code dir} (created if missing). */
    public static LocalDynamo start(Path dir) {
        return start(dir, LoopbackPorts.pickTcp());
    }

    /** Starts dynalite on {@code port} of 127.0.0.1 with its data under {@code dir}, and waits until it answers. */
    public static LocalDynamo start(Path dir, int port) {
        Path db = dir.resolve("db");
        Path logFile = dir.resolve("dynalite.log");
        try {
            Files.createDirectories(db);
            stopStale(dir.resolve(PID_FILE), db);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + db, e);
        }
        // createTableMs 0: a table is ACTIVE at once (dynalite's default pretends to take 500 ms).
        List<String> cmd = NodeTools.get().command("dynalite", "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--path", db.toString(), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0");
        long started = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start dynalite: " + String.join(" ", cmd), e);
        }
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        DynamoDbClient client = DynamoClients.local(endpoint);
        LocalDynamo dynamo = new LocalDynamo(dir, port, p, client);
        try {
            dynamo.awaitAnswer(logFile);
        } catch (RuntimeException e) {
            dynamo.close();
            throw e;
        }
        try {
            Files.writeString(dir.resolve(PID_FILE), Long.toString(p.pid()) + "\n");
        } catch (IOException e) {
            dynamo.close();
            throw new UncheckedIOException("cannot write " + dir.resolve(PID_FILE), e);
        }
        log.info("dynalite (pid {}) answers on {} after {} ms, with its data in {}", p.pid(), endpoint,
                (System.nanoTime() - started) / 1_000_000, db);
        return dynamo;
    }

    /** Stops the dynalite a previous, dead owner left serving {@code db}, if there is one. */
    static void stopStale(Path pidFile, Path db) throws IOException {
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidFile).trim());
        } catch (NumberFormatException e) {
            log.warn("ignoring {}: not a pid", pidFile);
            return;
        }
        ProcessHandle old = ProcessHandle.of(pid).orElse(null);
        if (old == null || !old.isAlive() || !commandLine(pid).contains(db.toString())) {
            return; // gone, or the pid now belongs to something else
        }
        log.warn("a dynalite (pid {}) from an earlier run still serves {}; stopping it", pid, db);
        List<ProcessHandle> children = old.descendants().toList();
        old.destroy();
        children.forEach(ProcessHandle::destroy);
        try {
            old.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            old.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping the old dynalite " + pid, e);
        }
        children.forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
        while (old.isAlive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while stopping the old dynalite " + pid, e);
            }
        }
        if (old.isAlive()) {
            throw new IOException("the old dynalite (pid " + pid + ") serving " + db + " did not exit");
        }
    }

    /** The process's arguments, NUL-separated in /proc; empty where that cannot be read. */
    private static String commandLine(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    private void awaitAnswer(Path logFile) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        SdkException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("dynalite exited with " + process.exitValue() + " before answering on port "
                        + port + ": " + tail(logFile));
            }
            try {
                client.listTables(b -> b.limit(1));
                return;
            } catch (SdkException e) {
                last = e; // not listening yet
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for dynalite", e);
            }
        }
        throw new IllegalStateException("dynalite did not answer on port " + port + " within " + START_TIMEOUT.toSeconds()
                + " s (last error: " + (last == null ? "none" : last.getMessage()) + "): " + tail(logFile));
    }

    private static String tail(Path logFile) {
        try {
            String s = Files.readString(logFile, StandardCharsets.UTF_8);
            return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Creates the metadata table unless it exists (idempotent). */
    public LocalDynamo createTables(String metadataTable) {
        MetadataTable.createIfMissing(client, metadataTable);
        return this;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public int port() {
        return port;
    }

    public Path directory() {
        return dir;
    }

    /** A client of this server, closed with it. */
    public DynamoDbClient client() {
        return client;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isRunning() {
        return process.isAlive();
    }

    /** Stops dynalite and its descendants (SIGTERM, then SIGKILL after a bounded wait). */
    @Override
    public void close() {
        client.close();
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        children.forEach(ProcessHandle::destroy);
        try {
            if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                log.warn("dynalite (pid {}) did not stop within {} s; killing it", process.pid(), STOP_TIMEOUT.toSeconds());
                process.destroyForcibly();
                process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }
}
