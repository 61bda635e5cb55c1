package dev.strata.cli.local;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.Properties;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The local cluster's durable settings: chosen once at the first {@code up} (ids, passwords,
 * ports) so that every later {@code up} finds the same project, timeline and addresses.
 * Stored as a properties file readable only by its owner, replaced atomically and durably.
 */
public final class ClusterState {

    private final Path file;
    private final Properties props;

    private ClusterState(Path file, Properties props) {
        this.file = file;
        this.props = props;
    }

    public static ClusterState loadOrCreate(Path file) {
        Properties p = new Properties();
        if (Files.exists(file)) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the cluster state " + file, e);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("the cluster state " + file + " is damaged: " + e.getMessage(), e);
            }
        }
        return new ClusterState(file, p);
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(props.getProperty(key));
    }

    public String require(String key) {
        String v = props.getProperty(key);
        if (v == null) {
            throw new IllegalStateException("the cluster state " + file + " has no '" + key + "'");
        }
        return v;
    }

    /** The value, or a new random secret stored under the key. */
    public String secret(String key) {
        return props.computeIfAbsent(key, k -> randomSecret()).toString();
    }

    public void put(String key, String value) {
        props.setProperty(key, value);
    }

    public void remove(String key) {
        props.remove(key);
    }

    /** Every key that starts with {@code prefix}, sorted. */
    public SortedSet<String> keys(String prefix) {
        TreeSet<String> out = new TreeSet<>();
        for (String k : props.stringPropertyNames()) {
            if (k.startsWith(prefix)) {
                out.add(k);
            }
        }
        return out;
    }

    /**
     * Writes the state durably: a temporary file created mode 600, fsynced, renamed over the
     * old one, the directory fsynced ({@link PrivateFiles#writeSecret}). After a power cut the
     * file holds the old or the new state, never nothing; so a later {@code up} never chooses
     * new passwords for data made with the old ones.
     */
    public void save() {
        try {
            Files.createDirectories(file.getParent());
            StringWriter w = new StringWriter();
            props.store(w, "Strata local cluster: written by `strata up`; holds passwords");
            PrivateFiles.writeSecret(file, w.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the cluster state " + file, e);
        }
    }

    private static String randomSecret() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
