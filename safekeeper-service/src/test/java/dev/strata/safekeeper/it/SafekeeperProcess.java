package dev.strata.safekeeper.it;

import dev.strata.pgcore.id.NodeId;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A safekeeper in its own JVM, so a test can {@code kill -9} it mid-write. Same ports and
 * data directory on every restart; output goes to a log file beside the data directory.
 */
final class SafekeeperProcess implements AutoCloseable {

    final NodeId id;
    final Path dataDir;
    final int httpPort;
    final int walsenderPort;
    private final Map<NodeId, URI> peers;
    private final String password;
    private Process process;

    SafekeeperProcess(NodeId id, Path dataDir, int httpPort, int walsenderPort, Map<NodeId, URI> peers, String password) {
        this.id = id;
        this.dataDir = dataDir;
        this.httpPort = httpPort;
        this.walsenderPort = walsenderPort;
        this.peers = peers;
        this.password = password;
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + httpPort);
    }

    void start() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.strata.safekeeper.SafekeeperMain", "--node-id", id.value(), "--data-dir", dataDir.toString(),
                "--http-port", Integer.toString(httpPort), "--walsender-port", Integer.toString(walsenderPort)));
        // The credentials go as paths of 600 files, as the local cluster passes them.
        Path[] auth = dev.strata.safekeeper.testing.TestSafekeepers.writeFiles(dataDir.resolveSibling(id + "-auth"));
        cmd.addAll(List.of("--auth-public-keys", auth[0].toString(), "--token-file", auth[1].toString()));
        // Extra JVM options for benchmarks (e.g. a flight recording to profile the receive
        // path): -Dstrata.bench.safekeeperJvmArgs="-XX:StartFlightRecording=filename=%s.jfr",
        // %s being the node id. Empty in tests.
        String extra = System.getProperty("strata.bench.safekeeperJvmArgs", "").trim();
        if (!extra.isEmpty()) {
            cmd.addAll(1, List.of(extra.replace("%s", id.value()).split("\\s+")));
        }
        peers.forEach((peer, url) -> {
            cmd.add("--peer");
            cmd.add(peer + "=" + url);
        });
        Files.createDirectories(dataDir.getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(dataDir.resolveSibling(id + ".log").toFile()));
        pb.environment().put("STRATA_REPLICATION_PASSWORD", password);
        process = pb.start();
        // Own thread, not the common pool: tests park blocking work (waiting commits) there.
        CompletableFuture<String> ready = new CompletableFuture<>();
        Process started = process;
        Thread.ofVirtual().start(() -> ready.complete(readyLine(started)));
        String line;
        try {
            line = ready.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            line = null;
        }
        if (line == null) {
            kill9();
            throw new IllegalStateException("safekeeper " + id + " did not become ready; its log:\n" + logTail());
        }
    }

    private static String readyLine(Process p) {
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("READY")) {
                    return line;
                }
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    String logTail() {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(dataDir.resolveSibling(id + ".log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGKILL: no shutdown hook, no flush, no goodbye. */
    void kill9() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The JVM's process id (for CPU accounting in benchmarks). */
    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                kill9();
            }
        }
    }
}
