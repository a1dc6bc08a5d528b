import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import WaitTimeout, wait_for


class FakeClock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_state_and_elapsed_when_predicate_holds():
    clock = FakeClock()
    states = iter([3, 2, 0])
    result = wait_for(lambda: next(states), lambda s: s == 0, timeout=60, sleep=5,
                      clock=clock.clock, sleeper=clock.sleep)
    assert result.state == 0
    assert result.attempts == 3
    assert result.elapsed == 10.0
    assert clock.sleeps == [5, 5]


def test_timeout_carries_last_state_and_never_sleeps_past_deadline():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as err:
        wait_for(lambda: {'messages': 4}, lambda s: s['messages'] == 0, timeout=7, sleep=5,
                 what='queues to drain', clock=clock.clock, sleeper=clock.sleep)
    assert err.value.state == {'messages': 4}
    assert 'queues to drain' in err.value.msg
    assert "{'messages': 4}" in err.value.msg
    assert clock.sleeps == [5, 2]
    assert err.value.elapsed == 7.0
    assert err.value.context['attempts'] == 3


def test_delay_happens_before_first_probe_and_counts_in_elapsed():
    clock = FakeClock()
    seen = []
    result = wait_for(lambda: seen.append(clock.now) or True, bool, timeout=10, delay=4,
                      clock=clock.clock, sleeper=clock.sleep)
    assert seen == [104.0]
    assert result.elapsed == 4.0


def test_zero_timeout_is_a_single_check():
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        wait_for(lambda: False, bool, timeout=0, clock=clock.clock, sleeper=clock.sleep)
    assert clock.sleeps == []
