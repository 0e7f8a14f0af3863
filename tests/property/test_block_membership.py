"""The pods' block membership by bisection (netpol.engine.addresses.block_membership) is each block's own test."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from netpol.engine.addresses import block_membership
from netpol.model import IPAddress, IPBlock

# small address spaces so that blocks, their excepts and the IPs meet often
_V4 = st.builds(lambda last, bits: ipaddress.ip_network(f"10.0.0.{last}/{bits}", strict=False),
                st.integers(0, 255), st.integers(24, 32))
_V6 = st.builds(lambda last, bits: ipaddress.ip_network(f"fd00::{last:x}/{bits}", strict=False),
                st.integers(0, 255), st.integers(120, 128))
_IP = st.one_of(st.builds(lambda n: ipaddress.ip_address(f"10.0.0.{n}"), st.integers(0, 255)),
                st.builds(lambda n: ipaddress.ip_address(f"fd00::{n:x}"), st.integers(0, 255)))


@st.composite
def _block(draw: st.DrawFn) -> IPBlock:
    cidr = draw(st.one_of(_V4, _V6))
    inner = [n for n in draw(st.lists(_V4 if cidr.version == 4 else _V6, max_size=3))
             if n.subnet_of(cidr) and n != cidr]  # type: ignore[arg-type]
    return IPBlock(cidr, tuple(inner))


@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(_block(), max_size=6), pods=st.lists(st.lists(_IP, max_size=3), max_size=8))
def test_membership_is_each_blocks_own_test(blocks: list[IPBlock], pods: list[list[IPAddress]]) -> None:
    member = block_membership(tuple(blocks))
    for ips in pods:
        assert member(tuple(ips)) == tuple(any(b.contains(ip) for ip in ips) for b in blocks), ips
