package dev.strata.control.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** What users type after --at / --to, and what it means. */
class BranchTargetParseTest {

    /** 2026-12-06 10:00 UTC, on a machine one hour east of UTC. */
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-06T10:00:00Z"), ZoneId.of("+01:00"));

    @Test
    void anLsnIsAnLsn() {
        assertThat(BranchTarget.parse("0/16B3748", CLOCK)).isEqualTo(new BranchTarget.AtLsn(Lsn.parse("0/16B3748")));
        assertThat(BranchTarget.parse(" 1A/0 ", CLOCK)).isEqualTo(new BranchTarget.AtLsn(Lsn.parse("1A/0")));
    }

    @Test
    void timesWithAZoneAreThatInstant() {
        assertThat(BranchTarget.parse("2026-12-06T14:03:27Z", CLOCK))
                .isEqualTo(new BranchTarget.AtTime(Instant.parse("2026-12-06T14:03:27Z")));
        assertThat(BranchTarget.parse("2026-12-06T14:03:27.250+02:00", CLOCK))
                .isEqualTo(new BranchTarget.AtTime(Instant.parse("2026-12-06T12:03:27.250Z")));
    }

    @Test
    void timesWithoutAZoneAreInTheMachinesZone() {
        assertThat(BranchTarget.parse("2026-12-06 14:03:27", CLOCK))
                .isEqualTo(new BranchTarget.AtTime(Instant.parse("2026-12-06T13:03:27Z")));
        // a time of day alone is today, here
        assertThat(BranchTarget.parse("14:03:27", CLOCK))
                .isEqualTo(new BranchTarget.AtTime(Instant.parse("2026-12-06T13:03:27Z")));
        assertThat(BranchTarget.parse("09:30", CLOCK))
                .isEqualTo(new BranchTarget.AtTime(Instant.parse("2026-12-06T08:30:00Z")));
    }

    @Test
    void headAndNowAreTheNewestState() {
        assertThat(BranchTarget.parse("head", CLOCK)).isEqualTo(BranchTarget.HEAD);
        assertThat(BranchTarget.parse("NOW", CLOCK)).isEqualTo(BranchTarget.HEAD);
    }

    @Test
    void whatIsNeitherIsRefusedWithTheFormsThatWork() {
        assertThatThrownBy(() -> BranchTarget.parse("yesterday", CLOCK)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'yesterday' is neither an LSN").hasMessageContaining("14:03:27");
        assertThatThrownBy(() -> BranchTarget.parse("", CLOCK)).hasMessageContaining("empty");
        assertThatThrownBy(() -> BranchTarget.parse("0/XYZ", CLOCK)).hasMessageContaining("neither");
        assertThatThrownBy(() -> BranchTarget.parse("25:00", CLOCK)).hasMessageContaining("neither");
        assertThatThrownBy(() -> BranchTarget.parse("0/0", CLOCK)).hasMessageContaining("not a valid LSN");
    }

    @Test
    void whatItPrintsParsesBackToItself() {
        for (String text : new String[] {"0/16B3748", "2026-12-06T14:03:27Z", "head"}) {
            BranchTarget p = BranchTarget.parse(text, CLOCK);
            assertThat(BranchTarget.parse(p.toString(), Clock.systemUTC())).isEqualTo(p);
        }
    }
}
