// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {MarketTest} from "../../fixtures/contracts/MarketTest.sol";

/// @notice Endpoints: where clients reach a provider's relayer and the X25519 key private prompts are sealed to.
contract ProviderRegistryEndpointTest is MarketTest {
    bytes32 internal constant ENC_KEY = 0x8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a;
    string internal constant URL = "https://miner.example:8788";

    event EndpointSet(address indexed provider, bytes32 encryptionKey, string serviceUrl);
    event EndpointCleared(address indexed provider);

    function _set(address who, bytes32 key, string memory url) internal {
        vm.prank(who);
        s.providers.setEndpoint(key, url);
    }

    function test_setEndpoint_publishesKeyAndUrl_andReplacesIt() public {
        vm.expectEmit(address(s.providers));
        emit EndpointSet(PROVIDER, ENC_KEY, URL);
        _set(PROVIDER, ENC_KEY, URL);
        IProviderRegistry.Endpoint memory e = s.providers.endpointOf(PROVIDER);
        assertEq(e.encryptionKey, ENC_KEY, "key");
        assertEq(keccak256(bytes(e.serviceUrl)), keccak256(bytes(URL)), "url");

        _set(PROVIDER, bytes32(uint256(7)), "http://10.0.0.2:8788/aitbc");
        e = s.providers.endpointOf(PROVIDER);
        assertEq(e.encryptionKey, bytes32(uint256(7)), "replaced key");
        assertEq(keccak256(bytes(e.serviceUrl)), keccak256(bytes("http://10.0.0.2:8788/aitbc")), "replaced url");
        assertEq(keccak256(bytes(s.providers.endpointOf(OTHER_PROVIDER).serviceUrl)), keccak256(bytes("")), "others untouched");
    }

    function test_setEndpoint_byUnregistered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, STRANGER));
        _set(STRANGER, ENC_KEY, URL);
    }

    function test_setEndpoint_zeroKey_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidEncryptionKey.selector, bytes32(0)));
        _set(PROVIDER, bytes32(0), URL);
    }

    function test_setEndpoint_badUrls_revert() public {
        string[9] memory bad = [
            "",
            "https://",
            "http://",
            "ftp://miner.example",
            "miner.example:8788",
            "https://miner.example/a b",
            "https://miner.example/\n",
            string(abi.encodePacked("https://miner.example/", bytes1(0x7f))),
            string(abi.encodePacked("https://", new bytes(249)))
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidServiceUrl.selector, bad[i]));
            _set(PROVIDER, ENC_KEY, bad[i]);
        }
    }

    function test_setEndpoint_urlLengthBound_exact() public {
        bytes memory longest = new bytes(256);
        bytes memory prefix = bytes("https://");
        for (uint256 i = 0; i < longest.length; ++i) longest[i] = i < prefix.length ? prefix[i] : bytes1("a");
        _set(PROVIDER, ENC_KEY, string(longest));
        assertEq(bytes(s.providers.endpointOf(PROVIDER).serviceUrl).length, 256, "256 bytes accepted");

        bytes memory tooLong = bytes.concat(longest, bytes("a"));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidServiceUrl.selector, string(tooLong)));
        _set(PROVIDER, ENC_KEY, string(tooLong));
    }

    function test_clearEndpoint_removesIt_onlyForRegistered() public {
        _set(PROVIDER, ENC_KEY, URL);
        vm.expectEmit(address(s.providers));
        emit EndpointCleared(PROVIDER);
        vm.prank(PROVIDER);
        s.providers.clearEndpoint();
        IProviderRegistry.Endpoint memory e = s.providers.endpointOf(PROVIDER);
        assertEq(e.encryptionKey, bytes32(0), "key cleared");
        assertEq(keccak256(bytes(e.serviceUrl)), keccak256(bytes("")), "url cleared");

        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, STRANGER));
        vm.prank(STRANGER);
        s.providers.clearEndpoint();
    }
}
