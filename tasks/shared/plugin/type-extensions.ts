import "hardhat/types/global-options";

declare module "hardhat/types/global-options" {
  interface GlobalOptions {
    verbose: boolean;
  }
}
