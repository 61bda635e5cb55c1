package dev.strata.safekeeper.node;

import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.id.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.UUID;

/**
 * Who owns a safekeeper data directory. Written once, at the first start on an empty
 * directory. A safekeeper refuses to start on a directory that holds timelines but no
 * identity (it may have lost its WAL and would vote as if it had it), or the identity of
 * another node (a volume mounted on the wrong instance).
 */
public record NodeIdentity(NodeId nodeId, UUID incarnation) {

    public static final String FILE_NAME = "safekeeper.identity";

    /** Loads the identity in {@code dataDir}, creating it if the directory is new; refuses a foreign one. */
    public static NodeIdentity establish(Path dataDir, NodeId expected) {
        Path file = dataDir.resolve(FILE_NAME);
        try {
            Files.createDirectories(dataDir);
            if (!Files.exists(file)) {
                try (var entries = Files.list(dataDir)) {
                    if (entries.anyMatch(p -> !p.getFileName().toString().startsWith(FILE_NAME))) {
                        throw new IllegalStateException("safekeeper data directory " + dataDir
                                + " is not empty but has no " + FILE_NAME + ": refusing to start on a directory of unknown origin");
                    }
                }
                NodeIdentity fresh = new NodeIdentity(expected, UUID.randomUUID());
                Properties p = new Properties();
                p.setProperty("node_id", expected.value());
                p.setProperty("incarnation", fresh.incarnation.toString());
                var out = new java.io.StringWriter();
                p.store(out, "Strata safekeeper identity; do not copy to another node");
                CrashSafe.writeAtomically(file, out.toString().getBytes(StandardCharsets.UTF_8));
                return fresh;
            }
            Properties p = new Properties();
            try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(in);
            }
            String id = p.getProperty("node_id");
            String incarnation = p.getProperty("incarnation");
            if (id == null || incarnation == null) {
                throw new IllegalStateException(file + " is damaged (node_id or incarnation missing)");
            }
            if (!id.equals(expected.value())) {
                throw new IllegalStateException("safekeeper data directory " + dataDir + " belongs to node " + id
                        + ", not to " + expected + ": refusing to start");
            }
            return new NodeIdentity(NodeId.of(id), UUID.fromString(incarnation));
        } catch (IOException e) {
            throw new UncheckedIOException("could not establish the identity of " + dataDir, e);
        }
    }
}
