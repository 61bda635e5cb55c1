package dev.strata.safekeeper.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * CPU time of processes, per kind of thread, from Linux's {@code /proc/<pid>/task/<tid>/stat}
 * (utime + stime, in clock ticks of 10 ms): what a receiver spends per byte, which the wall
 * time on a shared 2-core machine hides. Kinds: {@code stream} (a safekeeper's
 * {@code compute-stream-*} thread; pg_receivewal's only thread), {@code gc}, {@code jit},
 * else the thread's name with digits as {@code #}. Threads that ended between two snapshots are not counted. Bench use only.
 */
final class ThreadCpu {

    private ThreadCpu() {
    }

    /** Seconds of CPU per kind, summed over {@code pids}. */
    static Map<String, Double> snapshot(List<Long> pids) {
        Map<String, Double> byKind = new TreeMap<>();
        for (long pid : pids) {
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path t : tasks.toList()) {
                    String stat;
                    try {
                        stat = Files.readString(t.resolve("stat"));
                    } catch (IOException gone) {
                        continue;
                    }
                    int open = stat.indexOf('(');
                    int close = stat.lastIndexOf(')');
                    String comm = stat.substring(open + 1, close);
                    String[] f = stat.substring(close + 2).split(" ");
                    double seconds = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
                    byKind.merge(kind(comm), seconds, Double::sum);
                }
            } catch (IOException gone) {
                // the process ended
            }
        }
        return byKind;
    }

    static Map<String, Double> minus(Map<String, Double> after, Map<String, Double> before) {
        Map<String, Double> d = new TreeMap<>();
        after.forEach((k, v) -> d.put(k, v - before.getOrDefault(k, 0.0)));
        return d;
    }

    private static String kind(String comm) {
        if (comm.startsWith("compute-stream") || comm.startsWith("pg_receivewal")) {
            return "stream";
        }
        if (comm.startsWith("GC Thread") || comm.startsWith("G1 ")) {
            return "gc";
        }
        if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
            return "jit";
        }
        return comm.replaceAll("[0-9]+", "#"); // e.g. "ForkJoinPool-#-worker-#" (virtual threads' carriers)
    }
}
