package dev.strata.safekeeper.receive;

import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.wal.SegmentedWalStore;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * CPU cost of a safekeeper's receive path on one thread, without the network and without the
 * other processes a system benchmark shares the machine with: real WAL (complete segments from
 * a safekeeper's {@code wal} directory, e.g. what {@code bench/safekeeper-throughput.sh} left)
 * is fed in 128 KiB messages, as a walsender sends it, through {@link ValidatedWal} alone, then
 * through {@link ValidatedWal} into a {@link SegmentedWalStore} (preallocated segments, a force
 * every 4 MiB, as {@link ComputeStreamer} does). Prints the thread's CPU seconds per GB of WAL.
 * Not a test; run by hand:
 * <pre>
 * java -cp ... dev.strata.safekeeper.receive.ReceivePathBench WAL_DIR FIRST_SEGMENT_LSN SEGMENTS [REPEATS]
 * </pre>
 */
public final class ReceivePathBench {

    private static final int MESSAGE = 128 * 1024;
    private static final int SEGMENT = 16 << 20;

    public static void main(String[] args) throws Exception {
        Path walDir = Path.of(args[0]);
        Lsn start = Lsn.parse(args[1]);
        int segments = Integer.parseInt(args[2]);
        int repeats = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        List<Path> files;
        try (Stream<Path> s = Files.list(walDir)) {
            files = s.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).sorted(Comparator.naturalOrder())
                    .limit(segments).toList();
        }
        List<byte[]> messages = new ArrayList<>();
        for (Path f : files) {
            byte[] seg = Files.readAllBytes(f);
            for (int off = 0; off < seg.length; off += MESSAGE) {
                messages.add(java.util.Arrays.copyOfRange(seg, off, Math.min(seg.length, off + MESSAGE)));
            }
        }
        long bytes = (long) files.size() * SEGMENT;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int r = 0; r < repeats; r++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            ValidatedWal v = new ValidatedWal(start, 8192, SEGMENT, 0);
            Lsn at = start;
            for (byte[] m : messages) {
                v.accept(at, m);
                at = at.plus(m.length);
            }
            report("validate only", bytes, mx.getCurrentThreadCpuTime() - c0, System.nanoTime() - t0);

            Path dir = Files.createTempDirectory("receive-path-bench");
            try (SegmentedWalStore store = new SegmentedWalStore(dir, SEGMENT, start, start, Fsync.SYSTEM, true)) {
                c0 = mx.getCurrentThreadCpuTime();
                t0 = System.nanoTime();
                v = new ValidatedWal(start, 8192, SEGMENT, 0);
                at = start;
                long sinceForce = 0;
                for (byte[] m : messages) {
                    ValidatedWal.Released ok = v.accept(at, m);
                    at = at.plus(m.length);
                    if (ok != null) {
                        store.append(ok.start(), ok.data());
                        sinceForce += ok.length();
                        if (sinceForce >= ComputeStreamer.MAX_BYTES_PER_FORCE) {
                            store.flush();
                            sinceForce = 0;
                        }
                    }
                }
                store.flush();
                report("validate+append+force", bytes, mx.getCurrentThreadCpuTime() - c0, System.nanoTime() - t0);
            } finally {
                try (Stream<Path> s = Files.walk(dir)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    private static void report(String what, long bytes, long cpuNanos, long wallNanos) {
        double gb = bytes / 1073741824.0;
        System.out.printf("%-24s %6.0f MB  thread CPU %.2f s/GB  wall %.2f s/GB%n", what, bytes / 1048576.0,
                cpuNanos / 1e9 / gb, wallNanos / 1e9 / gb);
    }
}
