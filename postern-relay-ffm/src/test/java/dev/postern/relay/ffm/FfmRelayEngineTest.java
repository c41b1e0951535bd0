package dev.postern.relay.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.server.relay.RelayEngines;
import org.junit.jupiter.api.Test;

class FfmRelayEngineTest {

    @Test
    void onLinuxItIsFoundAndChosenBeforeNetty() {
        assumeTrue(System.getProperty("os.name").equals("Linux"), "the ffm engine runs on Linux only");

        assertThat(new FfmRelayEngine().unavailableReason()).isEmpty();
        assertThat(RelayEngines.named(RelayEngines.AUTO)).isInstanceOf(FfmRelayEngine.class);
        assertThat(RelayEngines.named("ffm")).isInstanceOf(FfmRelayEngine.class);
    }
}
