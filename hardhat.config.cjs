// Hardhat 2 serves only as the tests' in-process EVM (EDR): contracts are compiled by
// scripts/contracts.mjs with solc-js, not by Hardhat (its compiler download fails offline).
module.exports = { networks: { hardhat: { chainId: 31337, hardfork: 'cancun' } } }
