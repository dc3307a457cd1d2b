import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { HardhatRuntimeEnvironmentHooks } from "hardhat/types/hooks";

import { checkCommandLine } from "../command-line.js";

export default async (): Promise<Partial<HardhatRuntimeEnvironmentHooks>> => ({
  async created(_context, hre: HardhatRuntimeEnvironment): Promise<void> {
    await checkCommandLine(hre);
  },
});
