package dev.strata.safekeeper.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlFileTest {

    private static final int SEG = 16 << 20;

    private static SafekeeperState sample() {
        return SafekeeperState.create(TimelineId.random(), 7_400_000_000_000_000_001L, SEG, Lsn.parse("0/1000000"))
                .withPromisedTerm(Term.of(5))
                .withTermHistory(TermHistory.of(TermLsn.of(1, Lsn.parse("0/1000000")), TermLsn.of(5, Lsn.parse("0/3A00128"))))
                .withFlushLsn(Lsn.parse("0/3B00000"))
                .withCommitLsn(Lsn.parse("0/3AFFF00"))
                .withRemoteConsistentLsn(Lsn.parse("0/2000000"));
    }

    @Test
    void encodeThenDecodeGivesTheSameState() {
        SafekeeperState s = sample();
        assertThat(ControlFileCodec.decode(ControlFileCodec.encode(s))).isEqualTo(s);
    }

    @Test
    void persistedStateSurvivesAReopen(@TempDir Path dir) {
        ControlFileStore store = new ControlFileStore(dir);
        assertThat(store.load()).isEmpty();
        SafekeeperState s = sample();
        store.persist(s);
        store.persist(s.withPromisedTerm(Term.of(6)));
        assertThat(new ControlFileStore(dir).load()).contains(s.withPromisedTerm(Term.of(6)));
    }

    @Test
    void everyFlippedByteIsDetected() {
        byte[] good = ControlFileCodec.encode(sample());
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x40;
            assertThatThrownBy(() -> ControlFileCodec.decode(bad)).as("byte %d", i).isInstanceOf(ControlFileException.class);
        }
    }

    @Test
    void truncatedHeaderOnlyAndJunkFilesAreRefused(@TempDir Path dir) throws Exception {
        byte[] good = ControlFileCodec.encode(sample());
        for (int len = 0; len < good.length; len++) {
            byte[] cut = Arrays.copyOf(good, len);
            assertThatThrownBy(() -> ControlFileCodec.decode(cut)).as("length %d", len).isInstanceOf(ControlFileException.class);
        }
        Random random = new Random(7);
        for (int i = 0; i < 1000; i++) {
            byte[] junk = new byte[random.nextInt(200)];
            random.nextBytes(junk);
            assertThatThrownBy(() -> ControlFileCodec.decode(junk)).isInstanceOf(ControlFileException.class);
        }
        Files.write(dir.resolve(ControlFileStore.FILE_NAME), new byte[] {'S', 'K', 'C', 'F'});
        assertThatThrownBy(() -> new ControlFileStore(dir).load())
                .isInstanceOf(ControlFileException.class).hasMessageContaining(ControlFileStore.FILE_NAME);
    }

    @Test
    void historyAheadOfThePromiseIsInvalid() {
        SafekeeperState s = sample();
        assertThatThrownBy(() -> s.withPromisedTerm(Term.of(4))).isInstanceOf(IllegalArgumentException.class);
    }
}
