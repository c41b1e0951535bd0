package dev.postern.server.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RelayEnginesTest {

    @Test
    void nettyRunsEverywhereAndComesLast() {
        assertThat(RelayEngines.all()).last().extracting(RelayEngine::name).isEqualTo("netty");
        assertThat(RelayEngines.named("netty").name()).isEqualTo("netty");
    }

    @Test
    void autoIsTheFirstEngineThatCanRunHere() {
        RelayEngine best = RelayEngines.named(RelayEngines.AUTO);

        assertThat(best.unavailableReason()).isEmpty();
        assertThat(RelayEngines.all().stream().takeWhile(e -> e != best && !e.name().equals(best.name())))
                .allSatisfy(skipped -> assertThat(skipped.unavailableReason()).isPresent());
    }

    @Test
    void anUnknownNameListsTheChoices() {
        assertThatThrownBy(() -> RelayEngines.named("turbo"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("unknown relay engine 'turbo': choose auto, ")
                .hasMessageContaining("netty");
    }
}
