package dev.strata.cli.local;

import java.nio.file.Path;

/** Builds the local cluster's pageserver. */
public final class LocalPageservers {

    private LocalPageservers() {
    }

    /** The pageserver in this JVM, on its data directory. */
    public static LocalPageserver inProcess(Path dataDir) {
        throw new UnsupportedOperationException("the in-process pageserver is being wired");
    }
}
