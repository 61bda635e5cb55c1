package dev.strata.proxy.cancel;

import dev.strata.pgcore.protocol.BackendMessage.BackendKeyData;
import dev.strata.proxy.wake.ComputeAddress;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class CancelKeysTest {

    @Test
    void proxyKeysKeepTheComputePidWithAFreshSecretAndMapToTheComputeKeyUntilRemoved() {
        CancelKeys keys = new CancelKeys();
        ComputeAddress compute = new ComputeAddress("127.0.0.1", 5432);
        Set<BackendKeyData> issued = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            BackendKeyData real = new BackendKeyData(i, 42);
            BackendKeyData k = keys.register(new CancelKeys.Target(compute, real));
            assertThat(k.processId()).isEqualTo(i);
            issued.add(k);
        }
        assertThat(issued).hasSize(1000);
        assertThat(issued).extracting(BackendKeyData::secretKey).doesNotHaveDuplicates();
        BackendKeyData one = issued.iterator().next();
        assertThat(keys.find(one.processId(), one.secretKey())).get()
                .satisfies(t -> assertThat(t.compute()).isEqualTo(compute))
                .satisfies(t -> assertThat(t.computeKey()).isEqualTo(new BackendKeyData(one.processId(), 42)));
        // the right pid with the compute's real secret, or any other secret, finds nothing
        assertThat(keys.find(one.processId(), 42)).isEmpty();
        assertThat(keys.find(one.processId(), one.secretKey() + 1)).isEmpty();
        keys.remove(one);
        assertThat(keys.find(one.processId(), one.secretKey())).isEmpty();
        assertThat(keys.size()).isEqualTo(999);
    }

    @Test
    void twoComputesWithTheSamePidAreTellApartByTheProxySecret() {
        CancelKeys keys = new CancelKeys();
        ComputeAddress a = new ComputeAddress("127.0.0.1", 5432);
        ComputeAddress b = new ComputeAddress("127.0.0.1", 5433);
        BackendKeyData ka = keys.register(new CancelKeys.Target(a, new BackendKeyData(777, 1)));
        BackendKeyData kb = keys.register(new CancelKeys.Target(b, new BackendKeyData(777, 2)));
        assertThat(ka.processId()).isEqualTo(777);
        assertThat(kb.processId()).isEqualTo(777);
        assertThat(ka.secretKey()).isNotEqualTo(kb.secretKey());
        assertThat(keys.find(777, ka.secretKey())).get().extracting(CancelKeys.Target::compute).isEqualTo(a);
        assertThat(keys.find(777, kb.secretKey())).get().extracting(CancelKeys.Target::compute).isEqualTo(b);
    }
}
