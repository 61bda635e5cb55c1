package dev.strata.pgcore.testing;

import dev.strata.pgcore.fs.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;

/**
 * What the benchmark mains share: {@code --name value} options over defaults, a fresh output
 * directory, and the statistics the reports print. A benchmark compares against a baseline
 * measured in the same run, round by round, and reports the median of the per-round ratios
 * (a slow moment of the machine then hits both sides of a pair, not one side's median).
 */
public final class Bench {

    private Bench() {
    }

    /**
     * The options of {@code bench}: {@code defaults} (in usage order) overridden by
     * {@code --name value} pairs. An unknown name or a missing value prints the usage and exits 2.
     * The map is mutable and keeps the defaults' order.
     */
    public static Map<String, String> options(String bench, Map<String, String> defaults, String[] args) {
        Map<String, String> opt = new LinkedHashMap<>(defaults);
        for (int i = 0; i < args.length; i++) {
            String k = args[i].replaceFirst("^--", "");
            if (!opt.containsKey(k) || i + 1 >= args.length) {
                System.err.println("usage: " + bench + " " + opt.keySet().stream()
                        .map(o -> "[--" + o + " " + opt.get(o) + "]").toList());
                System.exit(2);
            }
            opt.put(k, args[++i]);
        }
        return opt;
    }

    /** Where the compute's default {@code wal_consistency_checking} is defined. */
    public static final String COMPUTE_SETTINGS_CLASS = "dev.strata.compute.config.ComputeSettings";
    private static final Path COMPUTE_SETTINGS_SOURCE =
            Path.of("compute-node/src/main/java/dev/strata/compute/config/ComputeSettings.java");

    /**
     * The compute's current default {@code wal_consistency_checking}
     * ({@code ComputeSettings.WAL_CONSISTENCY_CHECKING}), so a benchmark measures the WAL a
     * Strata compute writes today rather than a list copied when it was written. The bench
     * modules cannot depend on compute-node (it depends on them): the constant is read from the
     * class when it is on the classpath, else from its source file (the bench scripts run from
     * the repository root), else this fails and the caller must pass the list explicitly.
     */
    public static String computeWalConsistencyChecking() {
        try {
            return (String) Class.forName(COMPUTE_SETTINGS_CLASS).getField("WAL_CONSISTENCY_CHECKING").get(null);
        } catch (ReflectiveOperationException e) {
            // not on the classpath: read the source below
        }
        try {
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("String WAL_CONSISTENCY_CHECKING = \"([^\"]*)\";")
                    .matcher(Files.readString(COMPUTE_SETTINGS_SOURCE));
            if (m.find()) {
                return m.group(1);
            }
            throw new IllegalStateException("no WAL_CONSISTENCY_CHECKING constant in " + COMPUTE_SETTINGS_SOURCE.toAbsolutePath());
        } catch (IOException e) {
            throw new IllegalStateException("neither " + COMPUTE_SETTINGS_CLASS + " on the classpath nor "
                    + COMPUTE_SETTINGS_SOURCE.toAbsolutePath() + " readable: pass --wal-consistency-checking", e);
        }
    }

    /** An option's value of {@code wal_consistency_checking}: {@code compute} means {@link #computeWalConsistencyChecking()}. */
    public static String walConsistencyChecking(String option) {
        return "compute".equals(option) ? computeWalConsistencyChecking() : option;
    }

    /** {@code dir} as an absolute path, emptied of an earlier run's output and created. */
    public static Path freshDirectory(String dir) throws IOException {
        Path root = Path.of(dir).toAbsolutePath();
        FileTrees.deleteRecursively(root);
        Files.createDirectories(root);
        return root;
    }

    /** The median; NaN for no values. */
    public static double median(double... values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The median of {@code metric} over the results that {@code which} selects. */
    public static <R> double median(List<R> results, Predicate<R> which, ToDoubleFunction<R> metric) {
        return median(results.stream().filter(which).mapToDouble(metric).toArray());
    }

    /**
     * Per round, {@code metric} of the candidate divided by {@code metric} of the baseline
     * measured in the same round; rounds that lack either side are left out.
     */
    public static <R> List<Double> perRoundRatios(List<R> results, ToIntFunction<R> round, Predicate<R> baseline,
            Predicate<R> candidate, ToDoubleFunction<R> metric) {
        List<Double> ratios = new ArrayList<>();
        results.stream().mapToInt(round).distinct().sorted().forEach(r -> {
            R a = results.stream().filter(x -> round.applyAsInt(x) == r && baseline.test(x)).findFirst().orElse(null);
            R b = results.stream().filter(x -> round.applyAsInt(x) == r && candidate.test(x)).findFirst().orElse(null);
            if (a != null && b != null) {
                ratios.add(metric.applyAsDouble(b) / metric.applyAsDouble(a));
            }
        });
        return ratios;
    }

    /** The median of per-round ratios, with the ratios themselves, for a report line. */
    public static String ratioSummary(List<Double> ratios) {
        return String.format("%.2fx (per round: %s)", median(ratios.stream().mapToDouble(Double::doubleValue).toArray()),
                ratios.stream().map(x -> String.format("%.2fx", x)).toList());
    }
}
