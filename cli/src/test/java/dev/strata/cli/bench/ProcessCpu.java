package dev.strata.cli.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * CPU time of this JVM and every process it started (the cluster's safekeeper and pageserver
 * JVMs, PostgreSQL servers, pgbench), by component and thread, from Linux's
 * {@code /proc/<pid>/task/<tid>/stat} (utime + stime in ticks of 10 ms). What a commit costs in
 * CPU, which the wall time on a shared 2-core machine hides. Threads that ended between two
 * snapshots are not counted. Bench use only.
 *
 * <p>Components: {@code safekeepers} (the three JVMs summed), {@code pageserver},
 * {@code bench JVM} (this one: S3Proxy, the proxy, the compute agent; with the cluster in one
 * JVM also the safekeepers and the pageserver, told apart by thread), {@code <server> backends},
 * {@code <server> walsenders}, {@code <server> walwriter}, {@code <server> other} for each
 * PostgreSQL server ({@code stock} or {@code compute}, told apart by their data directories),
 * {@code pgbench}, else the process's name.
 */
final class ProcessCpu {

    /**
     * Seconds of CPU per component, and per component and thread kind; the same again counting
     * only the time in the kernel (stime: system calls, fsync, socket work, page faults).
     */
    record Snapshot(Map<String, Double> byComponent, Map<String, Map<String, Double>> byThread,
                    Map<String, Double> byComponentSys, Map<String, Map<String, Double>> byThreadSys) {
        Snapshot minus(Snapshot before) {
            return new Snapshot(minus(byComponent, before.byComponent), minusNested(byThread, before.byThread),
                    minus(byComponentSys, before.byComponentSys), minusNested(byThreadSys, before.byThreadSys));
        }

        private static Map<String, Double> minus(Map<String, Double> now, Map<String, Double> before) {
            Map<String, Double> c = new TreeMap<>();
            now.forEach((k, v) -> c.put(k, v - before.getOrDefault(k, 0.0)));
            return c;
        }

        private static Map<String, Map<String, Double>> minusNested(Map<String, Map<String, Double>> now,
                                                              Map<String, Map<String, Double>> before) {
            Map<String, Map<String, Double>> t = new TreeMap<>();
            now.forEach((k, m) -> t.put(k, minus(m, before.getOrDefault(k, Map.of()))));
            return t;
        }
    }

    private ProcessCpu() {
    }

    /**
     * @param stockDataDir  a path fragment only the stock server's command line holds
     * @param computeDataDir a path fragment only the compute's command line holds
     */
    static Snapshot snapshot(String stockDataDir, String computeDataDir) {
        List<ProcessHandle> all = Stream.concat(Stream.of(ProcessHandle.current()),
                ProcessHandle.current().descendants()).toList();
        // Each postmaster by its data directory; its children by their parent.
        Map<Long, String> server = new HashMap<>();
        Map<Long, String> cmdlines = new HashMap<>();
        for (ProcessHandle p : all) {
            String cmd = cmdline(p.pid());
            cmdlines.put(p.pid(), cmd);
            if (cmd.contains("bin/postgres") && cmd.contains(stockDataDir)) {
                server.put(p.pid(), "stock");
            } else if (cmd.contains("bin/postgres") && cmd.contains(computeDataDir)) {
                server.put(p.pid(), "compute");
            }
        }
        Map<String, Double> byComponent = new TreeMap<>();
        Map<String, Map<String, Double>> byThread = new TreeMap<>();
        Map<String, Double> byComponentSys = new TreeMap<>();
        Map<String, Map<String, Double>> byThreadSys = new TreeMap<>();
        for (ProcessHandle p : all) {
            String cmd = cmdlines.get(p.pid());
            String component;
            boolean jvm = false;
            if (p.pid() == ProcessHandle.current().pid()) {
                component = "bench JVM";
                jvm = true;
            } else if (cmd.contains("SafekeeperMain")) {
                component = "safekeepers";
                jvm = true;
            } else if (cmd.contains("PageserverMain")) {
                component = "pageserver";
                jvm = true;
            } else if (server.containsKey(p.pid())) {
                component = server.get(p.pid()) + " other";
            } else if (p.parent().map(ProcessHandle::pid).map(server::get).isPresent()) {
                String s = server.get(p.parent().get().pid());
                if (cmd.startsWith("postgres: walsender")) {
                    component = s + " walsenders";
                } else if (cmd.startsWith("postgres: walwriter")) {
                    component = s + " walwriter";
                } else if (cmd.startsWith("postgres: checkpointer") || cmd.startsWith("postgres: background writer")
                        || cmd.startsWith("postgres: autovacuum") || cmd.startsWith("postgres: logical")) {
                    component = s + " other";
                } else {
                    component = s + " backends";
                }
            } else if (cmd.contains("pgbench")) {
                component = "pgbench";
            } else {
                String first = cmd.split(" ")[0];
                component = first.substring(first.lastIndexOf('/') + 1);
            }
            Map<String, Double> threadsSys = new TreeMap<>();
            Map<String, Double> threads = ticks(p.pid(), threadsSys);
            double[] own = processTicks(p.pid());
            byComponent.merge(component, own[0], Double::sum);
            byComponentSys.merge(component, own[2], Double::sum);
            // Processes that started and ended between two snapshots (pgbench, the servers'
            // per-connection backends) are counted where their parent reaped them.
            if (own[1] > 0 && server.containsKey(p.pid()) && cmd.contains("bin/postgres")
                    && !cmd.startsWith("runuser") && !cmd.startsWith("su ")) {
                byComponent.merge(server.get(p.pid()) + " backends (ended)", own[1], Double::sum);
                byComponentSys.merge(server.get(p.pid()) + " backends (ended)", own[3], Double::sum);
            } else if (own[1] > 0 && p.pid() == ProcessHandle.current().pid()) {
                byComponent.merge("pgbench (ended children)", own[1], Double::sum);
                byComponentSys.merge("pgbench (ended children)", own[3], Double::sum);
            }
            if (jvm) {
                Map<String, Double> m = byThread.computeIfAbsent(component, k -> new TreeMap<>());
                threads.forEach((k, v) -> m.merge(k, v, Double::sum));
                Map<String, Double> ms = byThreadSys.computeIfAbsent(component, k -> new TreeMap<>());
                threadsSys.forEach((k, v) -> ms.merge(k, v, Double::sum));
            }
        }
        return new Snapshot(byComponent, byThread, byComponentSys, byThreadSys);
    }

    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ').trim();
        } catch (IOException gone) {
            return "";
        }
    }

    /**
     * Seconds of CPU of the process itself (all its threads, ended ones too), of its reaped
     * children, and the kernel's part (stime) of each.
     */
    private static double[] processTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new double[] {(Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0,
                    (Long.parseLong(f[13]) + Long.parseLong(f[14])) / 100.0,
                    Long.parseLong(f[12]) / 100.0, Long.parseLong(f[14]) / 100.0};
        } catch (IOException | RuntimeException gone) {
            return new double[] {0, 0, 0, 0};
        }
    }

    /**
     * Seconds of CPU per thread kind (the name with digits as {@code #}) of one process; the
     * kernel's part of each goes to {@code sys}.
     */
    private static Map<String, Double> ticks(long pid, Map<String, Double> sys) {
        Map<String, Double> byKind = new TreeMap<>();
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
                sys.merge(kind(comm), Long.parseLong(f[12]) / 100.0, Double::sum);
            }
        } catch (IOException gone) {
            // the process ended
        }
        return byKind;
    }

    private static String kind(String comm) {
        if (comm.startsWith("GC Thread") || comm.startsWith("G1 ")) {
            return "gc";
        }
        if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
            return "jit";
        }
        return comm.replaceAll("[0-9]+", "#");
    }
}
