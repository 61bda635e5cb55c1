package dev.strata.cli.local;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Memory bounds of the local cluster's JVM (docs/local-cluster.md, "Limits"). Every service of
 * the cluster (3 safekeepers, the pageserver, the proxy) runs in this one JVM, so without a bound
 * the JVM took a quarter of the machine's memory by default and one service's growth could
 * starve the others and the PostgreSQL computes beside them. The {@code strata} script starts
 * the JVM with {@link #DEFAULT_HEAP} heap and {@link #DEFAULT_DIRECT} direct memory (Netty's
 * buffers), or what {@code STRATA_CLUSTER_HEAP} / {@code STRATA_CLUSTER_DIRECT_MEMORY} say;
 * {@code strata up --detach} passes the same flags on to the cluster process it starts.
 */
public final class ClusterJvm {

    /** Heap of the cluster JVM unless STRATA_CLUSTER_HEAP says otherwise (the {@code strata} script). */
    public static final String DEFAULT_HEAP = "2g";
    /** Direct memory (Netty buffers) unless STRATA_CLUSTER_DIRECT_MEMORY says otherwise. */
    public static final String DEFAULT_DIRECT = "1g";
    /** Heap of each service JVM when the cluster runs them as child processes (the crash tests). */
    public static final String CHILD_HEAP = "1g";

    private ClusterJvm() {
    }

    /**
     * The memory flags to start the detached cluster process with: this JVM's own (the script
     * set them), or the defaults when this JVM was started without them.
     */
    public static List<String> memoryFlags() {
        return memoryFlags(ManagementFactory.getRuntimeMXBean().getInputArguments());
    }

    static List<String> memoryFlags(List<String> inputArguments) {
        List<String> flags = new ArrayList<>();
        String heap = null;
        String direct = null;
        for (String a : inputArguments) {
            if (a.startsWith("-Xmx") || a.startsWith("-XX:MaxHeapSize=")) {
                heap = a;
            } else if (a.startsWith("-XX:MaxDirectMemorySize=")) {
                direct = a;
            }
        }
        flags.add(heap != null ? heap : "-Xmx" + DEFAULT_HEAP);
        flags.add(direct != null ? direct : "-XX:MaxDirectMemorySize=" + DEFAULT_DIRECT);
        return flags;
    }
}
