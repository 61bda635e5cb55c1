package dev.strata.pgcore.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchTest {

    private record Run(String setup, int round, double tps) {
    }

    @Test
    void optionsOverrideDefaultsAndKeepTheirOrder() {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("rounds", "3");
        defaults.put("dir", "bench/out");
        Map<String, String> opt = Bench.options("SomeBench", defaults, new String[] {"--dir", "/tmp/x"});
        assertThat(opt).containsExactly(Map.entry("rounds", "3"), Map.entry("dir", "/tmp/x"));
        assertThat(defaults).containsEntry("dir", "bench/out");
    }

    @Test
    void medianOfOddEvenAndNoValues() {
        assertThat(Bench.median(5, 1, 3)).isEqualTo(3);
        assertThat(Bench.median(4, 1, 3, 2)).isEqualTo(2.5);
        assertThat(Bench.median()).isNaN();
    }

    @Test
    void ratiosArePairedPerRoundNotTakenBetweenMedians() {
        // Round 2 was slow for both sides: the paired ratios stay 2x, while the ratio of the
        // medians would say 1.5x.
        List<Run> runs = List.of(new Run("A", 1, 100), new Run("B", 1, 200), new Run("A", 2, 10), new Run("B", 2, 20),
                new Run("A", 3, 100), new Run("B", 3, 200), new Run("A", 4, 10));
        List<Double> ratios = Bench.perRoundRatios(runs, Run::round, r -> r.setup().equals("A"),
                r -> r.setup().equals("B"), Run::tps);
        assertThat(ratios).containsExactly(2.0, 2.0, 2.0); // round 4 has no B: left out
        assertThat(Bench.ratioSummary(ratios)).startsWith("2.00x");
        assertThat(Bench.median(runs, r -> r.setup().equals("A"), Run::tps)).isEqualTo(55);
    }
}
