package dev.strata.pageserver.datadir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The transaction-ends value: codec, the running maximum of commit times, PostgreSQL's epoch. */
class XactEndsTest {

    @Test
    void keepsTheNewestEndAndTheRunningMaximumOfCommitTimes() {
        XactEnds a = XactEnds.first(Lsn.parse("0/100"), Lsn.parse("0/128"), false, 0);
        assertThat(a.hasCommit()).isFalse();
        XactEnds b = a.then(Lsn.parse("0/200"), Lsn.parse("0/230"), true, 5_000);
        XactEnds c = b.then(Lsn.parse("0/300"), Lsn.parse("0/330"), true, 4_000); // out of order by a little
        XactEnds d = c.then(Lsn.parse("0/400"), Lsn.parse("0/420"), false, 9_999);
        assertThat(b.lastCommitEnd()).isEqualTo(Lsn.parse("0/230"));
        assertThat(c.maxCommitTime()).isEqualTo(5_000);
        assertThat(c.lastCommitEnd()).isEqualTo(Lsn.parse("0/330"));
        assertThat(d.lastEnd()).isEqualTo(Lsn.parse("0/420"));
        assertThat(d.lastStart()).isEqualTo(Lsn.parse("0/400"));
        assertThat(d.lastCommitEnd()).isEqualTo(Lsn.parse("0/330"));
        assertThat(d.maxCommitTime()).isEqualTo(5_000); // an abort's time does not count
        assertThat(d.commits()).isEqualTo(2);
        assertThat(XactEnds.decode(d.encode())).isEqualTo(d);
        assertThat(XactEnds.decode(null)).isNull();
        assertThatThrownBy(() -> XactEnds.decode(new byte[40])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("41 bytes");
    }

    @Test
    void convertsToPostgresTime() {
        assertThat(XactEnds.toPgTime(Instant.parse("2000-01-01T00:00:00Z"))).isZero();
        assertThat(XactEnds.toPgTime(Instant.parse("2000-01-01T00:00:01.0000019Z"))).isEqualTo(1_000_001);
        assertThat(XactEnds.toPgTime(Instant.parse("1999-12-31T23:59:59.999999Z"))).isEqualTo(-1);
        Instant t = Instant.parse("2026-12-06T14:03:27.123456Z");
        assertThat(XactEnds.fromPgTime(XactEnds.toPgTime(t))).isEqualTo(t);
    }
}
