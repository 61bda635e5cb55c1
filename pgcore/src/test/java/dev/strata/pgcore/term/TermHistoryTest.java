package dev.strata.pgcore.term;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import org.junit.jupiter.api.Test;

class TermHistoryTest {

    private static TermLsn tl(long term, long lsn) {
        return TermLsn.of(term, Lsn.of(lsn));
    }

    @Test
    void termsMustIncreaseAndLsnsNotDecrease() {
        assertThatThrownBy(() -> TermHistory.of(tl(2, 10), tl(2, 20))).hasMessageContaining("terms must increase");
        assertThatThrownBy(() -> TermHistory.of(tl(1, 10), tl(2, 5))).hasMessageContaining("must not decrease");
        assertThat(TermHistory.of(tl(1, 10), tl(2, 10)).lastTerm()).isEqualTo(Term.of(2));
        assertThat(TermHistory.EMPTY.lastTerm()).isEqualTo(Term.ZERO);
    }

    @Test
    void upToDropsTermsThatStartedBeyondTheEnd() {
        TermHistory h = TermHistory.of(tl(1, 0), tl(3, 100), tl(5, 200));
        assertThat(h.upTo(Lsn.of(150)).lastTerm()).isEqualTo(Term.of(3));
        assertThat(h.upTo(Lsn.of(200)).lastTerm()).isEqualTo(Term.of(5));
        assertThat(h.upTo(Lsn.of(199)).lastTerm()).isEqualTo(Term.of(3));
        assertThat(h.termAt(Lsn.of(99))).contains(Term.of(1));
        assertThat(h.termAt(Lsn.of(100))).contains(Term.of(3));
    }

    @Test
    void commonPointOfIdenticalHistoriesIsTheShorterEnd() {
        TermHistory h = TermHistory.of(tl(1, 0), tl(2, 100));
        assertThat(TermHistory.highestCommonPoint(h, Lsn.of(300), h, Lsn.of(250))).contains(tl(2, 250));
    }

    @Test
    void commonPointStopsWhereADivergentTermBegan() {
        // I wrote term 2 up to 300; the donor's term 2 ended at 220 and term 4 wrote on.
        TermHistory mine = TermHistory.of(tl(1, 0), tl(2, 100));
        TermHistory donor = TermHistory.of(tl(1, 0), tl(2, 100), tl(4, 220));
        assertThat(TermHistory.highestCommonPoint(mine, Lsn.of(300), donor, Lsn.of(500))).contains(tl(2, 220));
        // A term the donor never saw (3, started at 150) diverges from the donor's term 2 at 150.
        TermHistory divergent = TermHistory.of(tl(1, 0), tl(2, 100), tl(3, 150));
        assertThat(TermHistory.highestCommonPoint(divergent, Lsn.of(400), donor, Lsn.of(500))).contains(tl(2, 150));
    }

    @Test
    void noCommonPointWithoutASharedFirstTerm() {
        TermHistory a = TermHistory.of(tl(1, 0));
        TermHistory b = TermHistory.of(tl(2, 0));
        assertThat(TermHistory.highestCommonPoint(a, Lsn.of(10), b, Lsn.of(10))).isEmpty();
        assertThat(TermHistory.highestCommonPoint(TermHistory.EMPTY, Lsn.of(0), b, Lsn.of(10))).isEmpty();
    }
}
