package dev.strata.pgcore.postgres;

import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.net.LoopbackPorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stock PostgreSQL 17 server process on a loopback port: initdb on first start, then
 * start, stop (fast shutdown), crash ({@code kill -9}) and start again on the same data directory.
 *
 * <p>The server listens on 127.0.0.1 only, over TCP only (no Unix socket), and authenticates
 * every host connection, replication included, with a password (default SCRAM-SHA-256; never
 * {@code trust}). Settings go into {@code strata.conf}, included from {@code postgresql.conf},
 * so {@code ALTER SYSTEM} and reloads work as usual. When the JVM is root the server runs as
 * the {@code postgres} OS user. A server left running when the JVM exits is killed by a
 * shutdown hook; a server on a temporary directory deletes it on {@link #close()}.
 */
public final class PostgresServer implements AutoCloseable {

    public static final String HOST = "127.0.0.1";
    private static final String INCLUDE_LINE = "include_if_exists = 'strata.conf'";
    private static final Logger log = LoggerFactory.getLogger(PostgresServer.class);
    private static final Set<PostgresServer> running = ConcurrentHashMap.newKeySet();
    /** How often a start looks at postmaster.pid for "ready": a wake waits for this poll. */
    private static final long READY_POLL_MILLIS = 5;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> running.forEach(PostgresServer::kill),
                "strata-postgres-reaper"));
    }

    private final PostgresBinaries binaries;
    private final Path dataDir;
    private final Path logFile;
    private final Path temporaryRoot;
    private final Map<String, String> settings;
    private final String user;
    private final String password;
    private final String authMethod;
    private final List<String> initdbOptions;
    private final Duration startTimeout;
    private final Duration stopTimeout;
    private final int requestedPort;
    private volatile int port;
    private volatile Process process;

    private PostgresServer(Builder b) {
        this.binaries = b.binaries != null ? b.binaries : PostgresBinaries.resolve();
        try {
            if (b.dataDir == null) {
                this.temporaryRoot = Files.createTempDirectory("strata-pg-");
                this.dataDir = temporaryRoot.resolve("data");
                this.logFile = temporaryRoot.resolve("postgres.log");
            } else {
                this.temporaryRoot = null;
                this.dataDir = b.dataDir.toAbsolutePath().normalize();
                this.logFile = b.logFile != null ? b.logFile : dataDir.resolveSibling(dataDir.getFileName() + ".log");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temporary directory for PostgreSQL", e);
        }
        this.settings = new LinkedHashMap<>(b.settings);
        this.user = b.user;
        this.password = b.password != null ? b.password : randomPassword();
        this.authMethod = b.authMethod;
        this.initdbOptions = List.copyOf(b.initdbOptions);
        this.startTimeout = b.startTimeout;
        this.stopTimeout = b.stopTimeout;
        this.requestedPort = b.port;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts the server (initdb first if the data directory is empty); waits until it accepts connections. */
    public synchronized PostgresServer start() {
        if (isRunning()) {
            throw new IllegalStateException("PostgreSQL on " + dataDir + " is already running (pid " + process.pid() + ")");
        }
        if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
            initdb();
        } else {
            prepareExisting();
        }
        int attempts = requestedPort == 0 ? 3 : 1;
        for (int attempt = 1; ; attempt++) {
            // A restart keeps the previous port when it can, so clients can simply reconnect.
            if (requestedPort != 0) {
                port = requestedPort;
            } else if (port == 0 || attempt > 1) {
                port = freePort();
            }
            try {
                launch();
                return this;
            } catch (RuntimeException e) {
                // A free port picked by the kernel can be taken by someone else before the
                // postmaster binds it; try another one.
                if (attempt >= attempts || !logTail(20).contains("could not bind")) {
                    throw e;
                }
                log.warn("port {} was taken before PostgreSQL could bind it; retrying", port);
            }
        }
    }

    /** Fast shutdown (SIGINT): aborts open transactions, writes a shutdown checkpoint. */
    public synchronized void stop() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            running.remove(this);
            return;
        }
        signal(p.pid(), "INT");
        try {
            if (!p.waitFor(stopTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("PostgreSQL pid={} did not stop within {}; killing it", p.pid(), stopTimeout);
                kill();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
        }
        running.remove(this);
    }

    /** {@code kill -9} of the postmaster and every backend: a crash, for durability tests. */
    public void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        List<ProcessHandle> children = p.descendants().toList();
        p.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        try {
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        running.remove(this);
    }

    /** Stops the server; deletes its data directory if it was a temporary one. */
    @Override
    public void close() {
        stop();
        if (temporaryRoot != null) {
            FileTrees.deleteRecursively(temporaryRoot);
        }
    }

    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    public long pid() {
        Process p = process;
        if (p == null) {
            throw new IllegalStateException("PostgreSQL on " + dataDir + " was never started");
        }
        return p.pid();
    }

    public String host() {
        return HOST;
    }

    public int port() {
        return port;
    }

    public String user() {
        return user;
    }

    public String password() {
        return password;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path walDir() {
        return dataDir.resolve("pg_wal");
    }

    public Path logFile() {
        return logFile;
    }

    public PostgresBinaries binaries() {
        return binaries;
    }

    /** A pgjdbc URL for {@code database}, carrying user and password. */
    public String jdbcUrl(String database) {
        // Loopback to a server that Strata starts without SSL: no SSLRequest round trip first
        // (the compute agent's own connections are on the wake path).
        return "jdbc:postgresql://" + HOST + ":" + port + "/" + database
                + "?user=" + urlEncode(user) + "&password=" + urlEncode(password) + "&sslmode=disable";
    }

    /** A libpq connection URI for {@code database} (what {@code psql} takes). */
    public String connectionUri(String database) {
        return "postgresql://" + urlEncode(user) + ":" + urlEncode(password) + "@" + HOST + ":" + port + "/" + database;
    }

    /** The last {@code lines} lines of the server log, for error messages and test diagnostics. */
    public String logTail(int lines) {
        try {
            if (!Files.exists(logFile)) {
                return "";
            }
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private void initdb() {
        try {
            Path parent = dataDir.getParent();
            Files.createDirectories(parent);
            OsUser.makeReachable(parent);
            Path pwfile = Files.createTempFile("strata-pwfile-", "");
            Files.writeString(pwfile, password + "\n");
            Files.createDirectories(dataDir);
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            OsUser.handOver(dataDir);
            OsUser.handOver(pwfile);
            if (temporaryRoot != null) {
                OsUser.handOver(temporaryRoot);
            }
            List<String> cmd = new ArrayList<>(List.of(binaries.bin("initdb").toString(),
                    "-D", dataDir.toString(), "-U", user, "--pwfile=" + pwfile,
                    "--auth-host=" + authMethod, "--auth-local=" + authMethod,
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"));
            if ("md5".equals(authMethod)) {
                // The password must be stored as an MD5 hash for md5 authentication to use MD5.
                cmd.addAll(List.of("-c", "password_encryption=md5"));
            }
            cmd.addAll(initdbOptions);
            try {
                Processes.runForOutput(OsUser.asServerUser(cmd), Duration.ofMinutes(2));
            } finally {
                Files.deleteIfExists(pwfile);
            }
            Files.writeString(dataDir.resolve("postgresql.conf"), "\n" + INCLUDE_LINE + "\n", StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("initdb into " + dataDir + " failed", e);
        }
    }

    /** A directory prepared by someone else (a copy, a basebackup) must be the server user's, mode 0700. */
    private void prepareExisting() {
        try {
            OsUser.makeReachable(dataDir.getParent());
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            OsUser.handOver(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dataDir + " for PostgreSQL", e);
        }
    }

    private void launch() {
        try {
            writeStrataConf();
            List<String> cmd = OsUser.asServerUser(List.of(binaries.bin("postgres").toString(), "-D", dataDir.toString()));
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
            process = p;
            running.add(this);
            awaitReady(p);
            log.info("PostgreSQL {} started pid={} port={} dataDir={}", binaries.version(), p.pid(), port, dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start PostgreSQL on " + dataDir, e);
        }
    }

    private void writeStrataConf() throws IOException {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("listen_addresses", "'" + HOST + "'");
        all.put("port", Integer.toString(port));
        all.put("unix_socket_directories", "''");
        settings.forEach((k, v) -> all.put(k, quote(v)));
        StringBuilder conf = new StringBuilder("# Written by Strata at every start; edits are overwritten.\n");
        all.forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
        Path file = dataDir.resolve("strata.conf");
        Files.writeString(file, conf);
        OsUser.handOver(file);
    }

    /** Waits for "ready" (or "standby") in postmaster.pid's status line, written once connections are accepted. */
    private void awaitReady(Process p) {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        Path pidFile = dataDir.resolve("postmaster.pid");
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                running.remove(this);
                throw new IllegalStateException("PostgreSQL on " + dataDir + " exited with code " + p.exitValue()
                        + " during start-up; log " + logFile + ":\n" + logTail(30));
            }
            try {
                List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
                if (lines.size() >= 8 && Long.parseLong(lines.get(0).trim()) == p.pid()) {
                    String status = lines.get(7).trim();
                    if (status.equals("ready") || status.equals("standby")) {
                        return;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // not written yet, or half written: look again
            }
            sleep(READY_POLL_MILLIS);
        }
        kill();
        throw new IllegalStateException("PostgreSQL on " + dataDir + " was not ready within " + startTimeout
                + "; log " + logFile + ":\n" + logTail(30));
    }

    private static void signal(long pid, String signal) {
        try {
            Process k = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
            k.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException("could not signal pid " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        return LoopbackPorts.pickTcp(); // the postmaster binds it a moment later
    }

    private static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    private static String urlEncode(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String randomPassword() {
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for PostgreSQL", e);
        }
    }

    /** Settings for a server; every one has a default that works on a developer machine. */
    public static final class Builder {
        private PostgresBinaries binaries;
        private Path dataDir;
        private Path logFile;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private String user = "postgres";
        private String password;
        private String authMethod = "scram-sha-256";
        private final List<String> initdbOptions = new ArrayList<>();
        private Duration startTimeout = Duration.ofSeconds(60);
        private Duration stopTimeout = Duration.ofSeconds(60);
        private int port;

        private Builder() {
        }

        public Builder binaries(PostgresBinaries binaries) {
            this.binaries = binaries;
            return this;
        }

        /** A persistent data directory (kept on close); default: a temporary one, deleted on close. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /** Where the server's output goes; default beside the data directory. */
        public Builder logFile(Path logFile) {
            this.logFile = logFile;
            return this;
        }

        /** A {@code postgresql.conf} setting, given unquoted (e.g. {@code "wal_level", "replica"}). */
        public Builder setting(String name, String value) {
            settings.put(name, value);
            return this;
        }

        public Builder settings(Map<String, String> values) {
            settings.putAll(values);
            return this;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder password(String password) {
            this.password = password;
            return this;
        }

        /** pg_hba method for every connection: {@code scram-sha-256} (default), {@code md5} or {@code password}. */
        public Builder authMethod(String method) {
            if (!Set.of("scram-sha-256", "md5", "password").contains(method)) {
                throw new IllegalArgumentException("unsupported auth method '" + method
                        + "' (scram-sha-256, md5 or password; Strata never uses trust)");
            }
            this.authMethod = method;
            return this;
        }

        /** An extra initdb option, e.g. {@code --data-checksums}. */
        public Builder initdbOption(String option) {
            initdbOptions.add(option);
            return this;
        }

        /** A fixed port; default: a free loopback port chosen at each start. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }

        public Builder stopTimeout(Duration timeout) {
            this.stopTimeout = timeout;
            return this;
        }

        /** A server that is not started yet. */
        public PostgresServer build() {
            return new PostgresServer(this);
        }

        /** Builds and starts the server; if start fails, nothing is left behind. */
        public PostgresServer start() {
            PostgresServer server = build();
            try {
                return server.start();
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
        }
    }
}
