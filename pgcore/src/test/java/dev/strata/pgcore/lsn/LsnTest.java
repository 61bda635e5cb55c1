package dev.strata.pgcore.lsn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LsnTest {

    private static final int SEG = 16 * 1024 * 1024;

    @Test
    void printsAndParsesLikePostgres() {
        assertThat(Lsn.parse("0/1A2B3C").value()).isEqualTo(0x1A2B3CL);
        assertThat(Lsn.parse("16/B374D848").toString()).isEqualTo("16/B374D848");
        assertThat(Lsn.of(0x1_0000_0000L).toString()).isEqualTo("1/0");
        assertThat(Lsn.MAX.toString()).isEqualTo("FFFFFFFF/FFFFFFFF");
        assertThat(Lsn.parse("ffffffff/ffffffff")).isEqualTo(Lsn.MAX);
    }

    @Test
    void printThenParseRoundTrips() {
        Random random = new Random(42);
        for (int i = 0; i < 10_000; i++) {
            Lsn lsn = Lsn.of(random.nextLong());
            assertThat(Lsn.parse(lsn.toString())).isEqualTo(lsn);
        }
    }

    @Test
    void rejectsWhatIsNotAnLsn() {
        for (String bad : new String[] {"", "/", "1/", "/1", "12", "g/0", "0/-1", "123456789/0", "0/123456789", " 0/1", "0/1 "}) {
            assertThatThrownBy(() -> Lsn.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an LSN");
        }
        assertThatThrownBy(() -> Lsn.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void ordersUnsigned() {
        assertThat(Lsn.MAX).isGreaterThan(Lsn.of(1));
        assertThat(Lsn.parse("80000000/0").isAfter(Lsn.parse("7FFFFFFF/FFFFFFFF"))).isTrue();
        assertThat(Lsn.max(Lsn.MAX, Lsn.INVALID)).isEqualTo(Lsn.MAX);
        assertThat(Lsn.min(Lsn.MAX, Lsn.INVALID)).isEqualTo(Lsn.INVALID);
    }

    @Test
    void arithmeticIsChecked() {
        assertThat(Lsn.of(100).plus(28)).isEqualTo(Lsn.of(128));
        assertThat(Lsn.of(128).minus(Lsn.of(100))).isEqualTo(28);
        assertThatThrownBy(() -> Lsn.MAX.plus(1)).isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> Lsn.of(1).minus(Lsn.of(2))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Lsn.of(1).plus(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void segmentAndPageMath() {
        Lsn lsn = Lsn.parse("1/2345678");
        assertThat(lsn.segmentNumber(SEG)).isEqualTo(0x102);
        assertThat(lsn.segmentOffset(SEG)).isEqualTo(0x345678);
        assertThat(lsn.segmentStart(SEG)).isEqualTo(Lsn.parse("1/2000000"));
        assertThat(lsn.pageOffset(8192)).isEqualTo(0x1678);
        assertThat(lsn.pageStart(8192)).isEqualTo(Lsn.parse("1/2344000"));
        assertThat(Lsn.ofSegment(0x102, SEG)).isEqualTo(Lsn.parse("1/2000000"));
        assertThat(Lsn.of(13).alignUp(8)).isEqualTo(Lsn.of(16));
        assertThat(Lsn.of(16).alignUp(8)).isEqualTo(Lsn.of(16));
        assertThatThrownBy(() -> lsn.segmentNumber(1000)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void walFileNamesMatchPgWal() {
        // pg_walfile_name('0/1000028') on timeline 1 is 000000010000000000000001
        assertThat(Lsn.parse("0/1000028").walFileName(1, SEG)).isEqualTo("000000010000000000000001");
        assertThat(Lsn.parse("1/2345678").walFileName(1, SEG)).isEqualTo("000000010000000100000002");
        assertThat(Lsn.parse("1/2345678").walFileName(3, 64 * 1024 * 1024)).isEqualTo("000000030000000100000000");
    }
}
